/* Coprod chat service worker (served at /chat/sw.js, scope /chat/): shows pushed
   notifications and brings the chat back on a click. */
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('push', (e) => {
  let d = {};
  if (e.data) {
    try { d = e.data.json() || {}; } catch (x) { d = { body: e.data.text() }; }
  }
  e.waitUntil(self.registration.showNotification(String(d.title || 'Coprod'), {
    body: d.body == null ? '' : String(d.body),
    data: { url: typeof d.url === 'string' && d.url ? d.url : '/chat' },
  }));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const target = new URL((e.notification.data && e.notification.data.url) || '/chat', self.location.origin).href;
  // The /chat page lies outside the /chat/ scope, hence includeUncontrolled.
  e.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
    for (const c of list) {
      const u = new URL(c.url);
      if (u.origin === self.location.origin && u.pathname === '/chat' && c.frameType !== 'nested' && 'focus' in c) return c.focus();
    }
    return self.clients.openWindow ? self.clients.openWindow(target) : undefined;
  }));
});

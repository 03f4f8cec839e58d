/* Coprod web chat client. Plain ES2019, no dependencies. Protocol: see the web chat brief
   (hello / text / press / location → server; message / ack / language / error ← server). */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const root = document.documentElement;
  const EMBED = document.body.classList.contains('embed');
  const meta = (name) => {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.content : '';
  };
  const CSRF = meta('chat-csrf');
  const VAPID = meta('chat-vapid');

  // Texts the server may not send yet (used only when `strings` lacks the key).
  const EXTRA = {
    en: { remove_photos: 'Remove the photos' },
    fr: { remove_photos: 'Retirer les photos' },
    ar: { remove_photos: 'إزالة الصور' },
  };
  let S = {}, fromServer = {};
  function setStrings(given) {
    fromServer = Object.assign(fromServer, given || {});
    S = Object.assign({}, EXTRA[root.lang] || EXTRA.en, fromServer);
  }
  try { setStrings(JSON.parse($('chat-strings').textContent)); } catch (e) { setStrings({}); }
  const fmt = (s, vars) => String(s || '').replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));

  const log = $('log'), pendingList = $('pending'), statusEl = $('status'), jump = $('jump');
  const compose = $('compose'), text = $('text');
  const tray = $('tray'), thumbs = $('thumbs'), count = $('count'), caption = $('caption');
  const photo = $('photo'), locateBtn = $('locate'), notifyBtn = $('notify'), notifyState = $('notify-state');

  /* ---------- storage (may be unavailable: private mode, third-party iframe) ---------- */
  const mem = {};
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch (e) { return k in mem ? mem[k] : null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch (e) { mem[k] = v; } },
  };
  const OUTBOX = 'coprod-outbox', SEEN = 'coprod-last-seen';
  function outbox() {
    try { const a = JSON.parse(store.get(OUTBOX) || '[]'); return Array.isArray(a) ? a : []; } catch (e) { return []; }
  }
  const saveOutbox = (a) => store.set(OUTBOX, JSON.stringify(a.slice(-200)));

  function uuid() {
    const c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function el(tag, cls, txt) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (txt != null) n.textContent = txt;
    return n;
  }
  // A text bound to a `strings` key, relabelled on a language switch.
  function label(tag, cls, key, suffix) {
    const n = el(tag, cls, (S[key] || '') + (suffix || ''));
    n.dataset.s = key;
    if (suffix) n.dataset.sfx = suffix;
    return n;
  }

  /* ---------- relabelling and language ---------- */
  let statusKey = '';
  function setStatus(key) {
    statusKey = key;
    statusEl.textContent = key ? S[key] || '' : '';
    statusEl.className = 'status' + (key ? ' is-' + key : '');
  }
  function relabel() {
    document.title = S.title || document.title;
    document.querySelectorAll('[data-s]').forEach((n) => {
      if (S[n.dataset.s] != null) n.textContent = S[n.dataset.s] + (n.dataset.sfx || '');
    });
    document.querySelectorAll('[data-s-ph]').forEach((n) => { if (S[n.dataset.sPh]) n.placeholder = S[n.dataset.sPh]; });
    document.querySelectorAll('[data-s-label]').forEach((n) => {
      if (S[n.dataset.sLabel]) n.setAttribute('aria-label', S[n.dataset.sLabel]);
    });
    setStatus(statusKey);
  }
  let timeFmt, dateFmt;
  function makeFormats() {
    // Algerian usage: Latin digits in Arabic and French (ar-DZ / fr-DZ).
    const loc = { ar: 'ar-DZ', fr: 'fr-DZ' }[root.lang] || root.lang || undefined;
    try {
      // 24-hour clock in every language, as the bot's own messages write it (20:00).
      timeFmt = new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit', hour12: false });
      dateFmt = new Intl.DateTimeFormat(loc, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false });
    } catch (e) { timeFmt = dateFmt = null; }
  }
  function setLanguage(ev) {
    if (typeof ev.language === 'string' && ev.language) root.lang = ev.language;
    if (ev.dir === 'rtl' || ev.dir === 'ltr') root.dir = ev.dir;
    setStrings(ev.strings);
    makeFormats();
    relabel();
  }
  makeFormats();
  relabel();

  /* ---------- scrolling ---------- */
  // The log scrolls by itself, except on very short screens (CSS lets the page scroll).
  const scroller = () => (getComputedStyle(log).overflowY === 'visible' ? document.scrollingElement || root : log);
  let pinned = true; // the user is at the bottom: follow new messages
  function atBottom() { const s = scroller(); return s.scrollHeight - s.scrollTop - s.clientHeight < 60; }
  function toBottom() { const s = scroller(); s.scrollTop = s.scrollHeight; pinned = true; jump.hidden = true; }
  function scrollToEl(n) {
    const s = scroller();
    const top = s === log ? log.getBoundingClientRect().top : 0;
    s.scrollTop += n.getBoundingClientRect().top - top - 8;
    pinned = atBottom();
  }
  function onScroll() { pinned = atBottom(); if (pinned) jump.hidden = true; }
  log.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('resize', () => { if (pinned) toBottom(); });
  // After adding something: follow it, or offer the "New messages" button.
  function follow(force) {
    if (force || pinned) toBottom();
    else if (!replaying) jump.hidden = false;
  }
  jump.addEventListener('click', () => { toBottom(); text.focus(); });

  /* ---------- rendering ---------- */
  const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
  // Appends `str` to `node` as text, turning http(s) URLs into links (never innerHTML).
  function linkify(node, str) {
    let last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(str))) {
      let url = m[0].replace(/[.,;:!?'»،؛]+$/, '');
      // a closing parenthesis belongs to the URL only when it closes one opened in it
      while (url.endsWith(')') && url.split(')').length > url.split('(').length) url = url.slice(0, -1);
      node.append(str.slice(last, m.index));
      const a = el('a', null, url);
      a.href = url; a.target = '_blank'; a.rel = 'noopener noreferrer nofollow'; a.dir = 'ltr';
      node.append(a);
      last = m.index + url.length;
      URL_RE.lastIndex = last;
    }
    node.append(str.slice(last));
  }
  function safeUrl(u) {
    try { const x = new URL(u, location.href); return /^https?:$/.test(x.protocol) ? x.href : null; } catch (e) { return null; }
  }
  function timeOf(at) {
    if (typeof at !== 'string' || !at) return null;
    // Safer parsing everywhere: milliseconds at most, no "Z" after an explicit offset.
    const d = new Date(at.replace(/(\.\d{3})\d+/, '$1').replace(/([+-]\d\d:\d\d)Z$/, '$1'));
    if (isNaN(d)) return null;
    const t = el('time');
    t.dateTime = d.toISOString();
    const today = d.toDateString() === new Date().toDateString();
    const f = today ? timeFmt : dateFmt;
    t.textContent = f ? f.format(d) : d.toLocaleString();
    return t;
  }
  function bubble(role, str) {
    const b = el('div', 'bubble');
    b.append(label('span', 'sr', role === 'citizen' ? 'you' : 'bot', ': '));
    if (str) { const p = el('p', 'text'); p.dir = 'auto'; linkify(p, str); b.append(p); }
    return b;
  }

  const shown = new Set();
  let maxShown = 0;
  const prevSeen = parseInt(store.get(SEEN), 10) || 0; // last id seen in an earlier visit
  let divider = null;

  function renderMessage(m) {
    const id = Number(m.id);
    if (!Number.isFinite(id) || shown.has(id)) return;
    shown.add(id);
    const role = m.role === 'citizen' ? 'citizen' : 'bot';
    const row = el('div', 'msg ' + (role === 'citizen' ? 'me' : 'bot'));
    row.dataset.id = id;
    const b = bubble(role, typeof m.text === 'string' ? m.text : '');
    const src = m.image && safeUrl(m.image);
    if (src) {
      const a = el('a', 'pic'); a.href = src; a.target = '_blank'; a.rel = 'noopener';
      const img = el('img');
      img.src = src; img.alt = m.text ? '' : '📷'; img.loading = 'lazy'; img.decoding = 'async';
      img.addEventListener('load', () => { if (pinned) toBottom(); });
      a.append(img); b.append(a);
    }
    const t = timeOf(m.at);
    if (t) b.append(t);
    row.append(b);
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const g = el('div', 'choices');
      g.setAttribute('role', 'group');
      m.buttons.forEach((x) => {
        if (!x || typeof x.token !== 'string') return;
        const btn = el('button', 'choice', String(x.title == null ? '' : x.title));
        btn.type = 'button'; btn.dataset.token = x.token;
        g.append(btn);
      });
      row.append(g);
    }
    // "New messages" divider: once, during the replay that follows the first hello.
    let where = pendingList;
    if (id < maxShown) { // out of order: before the first shown message with a larger id
      where = Array.from(log.querySelectorAll('.msg[data-id]')).find((n) => Number(n.dataset.id) > id) || pendingList;
    } else if (replaying && !divider && prevSeen > 0 && id > prevSeen) {
      divider = label('p', 'divider', 'new_messages');
      log.insertBefore(divider, pendingList);
    }
    log.insertBefore(row, where);
    maxShown = Math.max(maxShown, id);
    markSeen();
  }
  function markSeen() {
    if (document.visibilityState !== 'hidden' && maxShown > (parseInt(store.get(SEEN), 10) || 0)) store.set(SEEN, String(maxShown));
  }
  document.addEventListener('visibilitychange', markSeen);

  // A local line in the log (not from the server): notices, errors. Returns it.
  function notice(str, key) {
    const p = key ? label('p', 'notice', key) : el('p', 'notice', str);
    p.dir = 'auto';
    log.insertBefore(p, pendingList);
    follow();
    return p;
  }

  // Pending bubbles for this client's unacknowledged messages, by client id.
  const pendingEls = new Map();
  function showPending(item) {
    let str = null;
    if (item.type === 'text') str = item.text;
    else if (item.type === 'location') {
      str = S.location_shared || '📍 ' + (+item.latitude).toFixed(5) + ', ' + (+item.longitude).toFixed(5);
    }
    if (str == null || pendingEls.has(item.id)) return;
    const row = el('div', 'msg me pending');
    const b = bubble('citizen', str);
    b.append(label('span', 'queued', 'queued'));
    row.append(b);
    pendingList.append(row);
    pendingEls.set(item.id, row);
  }

  // Button presses (delegated): mark that message's buttons as used, send the token.
  log.addEventListener('click', (e) => {
    const btn = e.target.closest && e.target.closest('button.choice');
    if (!btn || btn.getAttribute('aria-disabled') === 'true') return;
    btn.parentNode.querySelectorAll('button').forEach((b) => {
      b.setAttribute('aria-disabled', 'true');
      b.tabIndex = -1;
    });
    btn.classList.add('chosen');
    queue({ type: 'press', id: uuid(), token: btn.dataset.token });
  });

  /* ---------- connection ---------- */
  const SOCKET = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat/socket';
  let ws = null, attempt = 0, retryTimer = null, firstOpen = true;
  let replaying = false, replayTimer = null;

  function connect() {
    clearTimeout(retryTimer); retryTimer = null;
    if (ws) return;
    let s;
    try { s = new WebSocket(SOCKET); } catch (e) { retry(); return; }
    ws = s;
    s.onopen = () => {
      attempt = 0;
      setStatus('');
      // Fresh page: ask for everything (last_seen 0); after a reconnect: only what was missed.
      s.send(JSON.stringify({ type: 'hello', last_seen: maxShown, language: navigator.language || '' }));
      if (firstOpen) { firstOpen = false; replaying = true; log.setAttribute('aria-busy', 'true'); replayTick(); }
      outbox().forEach((item) => s.send(JSON.stringify(item)));
    };
    s.onmessage = (e) => { let ev; try { ev = JSON.parse(e.data); } catch (x) { return; } handle(ev); };
    s.onclose = () => { if (ws === s) { ws = null; retry(); } };
    s.onerror = () => { /* a close event follows */ };
  }
  function retry() {
    setStatus(navigator.onLine === false || attempt >= 2 ? 'offline' : 'connecting');
    const base = Math.min(30000, 1000 * Math.pow(2, attempt++));
    retryTimer = setTimeout(connect, Math.min(30000, base * (0.75 + Math.random() * 0.5)));
  }
  function reconnectNow() { if (!ws) { attempt = 0; connect(); } }
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => { if (!ws || ws.readyState !== 1) setStatus('offline'); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') reconnectNow(); });

  // The history replay ends after a short silence; until then the log is aria-busy
  // (screen readers do not read the whole history out) and no "jump" button shows.
  function replayTick() { clearTimeout(replayTimer); replayTimer = setTimeout(endReplay, 600); }
  function endReplay() {
    replaying = false;
    log.removeAttribute('aria-busy');
    if (divider && !userActed) scrollToEl(divider); else toBottom();
  }

  function handle(ev) {
    if (!ev || typeof ev !== 'object') return;
    if (ev.type === 'message') {
      renderMessage(ev);
      if (replaying) { replayTick(); toBottom(); } else follow();
    } else if (ev.type === 'ack') {
      saveOutbox(outbox().filter((x) => x.id !== ev.id));
      const row = pendingEls.get(ev.id);
      if (row) { row.remove(); pendingEls.delete(ev.id); }
    } else if (ev.type === 'language') {
      setLanguage(ev);
    } else if ((ev.type === 'error' || ev.type === 'notice') && ev.text) {
      // error: e.g. rate limit; notice: e.g. "this button was already used" (not stored, not numbered)
      notice(String(ev.text));
    }
  }

  let userActed = false;
  // Stores a client message until acked, shows it as pending, sends it if connected.
  function queue(item) {
    userActed = true;
    const box = outbox(); box.push(item); saveOutbox(box);
    showPending(item);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(item));
    follow(true);
  }

  /* ---------- compose ---------- */
  function autosize() {
    text.style.height = 'auto';
    text.style.height = Math.min(text.scrollHeight + 4, 160) + 'px';
  }
  function submitText() {
    const t = text.value.trim();
    if (t) queue({ type: 'text', id: uuid(), text: t.slice(0, 4000) });
    text.value = '';
    autosize();
    text.focus();
  }
  compose.addEventListener('submit', (e) => { e.preventDefault(); submitText(); });
  text.addEventListener('input', autosize);
  text.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter is a new line; never while an IME is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submitText(); }
  });
  // Tapping Send must not close the phone keyboard.
  $('send').addEventListener('mousedown', (e) => e.preventDefault());

  /* ---------- photos ---------- */
  let files = [], urls = [], uploadId = null, uploading = false;
  function clearTray() {
    urls.forEach((u) => URL.revokeObjectURL(u));
    files = []; urls = []; uploadId = null;
    thumbs.textContent = ''; caption.value = ''; photo.value = '';
    tray.hidden = true;
  }
  photo.addEventListener('change', () => {
    const chosen = Array.from(photo.files || []);
    clearTray();
    if (!chosen.length) return;
    files = chosen;
    uploadId = uuid(); // kept across retries so the server can de-duplicate
    files.forEach((f) => {
      const u = URL.createObjectURL(f); urls.push(u);
      const li = el('li'), img = el('img');
      img.src = u; img.alt = ''; img.decoding = 'async';
      li.append(img); thumbs.append(li);
    });
    count.textContent = '📷 ' + files.length;
    tray.hidden = false;
    caption.focus();
  });
  $('discard').addEventListener('click', () => { clearTray(); text.focus(); });

  // Downscale to 1600 px on the longest side (JPEG 0.85); the original when not needed or on failure.
  function shrink(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      const done = (blob, name) => { URL.revokeObjectURL(url); resolve({ blob: blob || file, name: name || file.name }); };
      img.onerror = () => done();
      img.onload = () => {
        try {
          const w = img.naturalWidth, h = img.naturalHeight, k = 1600 / Math.max(w, h);
          if (!(k < 1)) return done();
          const c = document.createElement('canvas');
          c.width = Math.round(w * k); c.height = Math.round(h * k);
          const g = c.getContext('2d');
          if (!g || !c.toBlob) return done();
          g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height); // PNG transparency → white
          g.drawImage(img, 0, 0, c.width, c.height);
          c.toBlob((b) => {
            if (b && b.size && b.size < file.size) done(b, file.name.replace(/\.\w+$/, '') + '.jpg');
            else done();
          }, 'image/jpeg', 0.85);
        } catch (e) { done(); }
      };
      img.src = url;
    });
  }
  tray.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (uploading || !files.length) return;
    uploading = true; userActed = true;
    tray.setAttribute('aria-busy', 'true');
    const n = files.length;
    try {
      const fd = new FormData();
      fd.append('id', uploadId);
      fd.append('caption', caption.value.trim());
      for (const f of files) { const s = await shrink(f); fd.append('photo', s.blob, s.name); } // one at a time: memory
      const r = await fetch('/chat/upload', {
        method: 'POST', body: fd, credentials: 'same-origin', headers: { 'X-Chat-CSRF': CSRF },
      });
      let j = {};
      try { j = await r.json(); } catch (x) { /* not JSON */ }
      if (r.ok) { clearTray(); text.focus(); } // the server echoes the photos as the citizen's line
      else notice(fmt(S.upload_failed, { reason: (j && j.error) || 'HTTP ' + r.status }));
    } catch (err) {
      notice(fmt(S.upload_failed, { reason: navigator.onLine === false ? S.offline : String(err && err.message || err) }));
    } finally {
      uploading = false;
      tray.removeAttribute('aria-busy');
    }
  });

  /* ---------- location ---------- */
  if ('geolocation' in navigator) {
    locateBtn.hidden = false;
    let locating = null;
    locateBtn.addEventListener('click', () => {
      if (locating) return;
      locating = notice(null, 'locating');
      locateBtn.setAttribute('aria-disabled', 'true');
      const end = () => { locating.remove(); locating = null; locateBtn.removeAttribute('aria-disabled'); };
      navigator.geolocation.getCurrentPosition((pos) => {
        end();
        queue({ type: 'location', id: uuid(), latitude: pos.coords.latitude, longitude: pos.coords.longitude });
      }, () => {
        end();
        notice(null, 'location_denied');
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  /* ---------- push notifications ---------- */
  function notifyStatus(key) {
    notifyBtn.hidden = true;
    notifyState.dataset.s = key;
    notifyState.textContent = S[key] || '';
    notifyState.hidden = false;
  }
  function vapidBytes(b64) {
    const s = atob((b64 + '='.repeat((4 - (b64.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  const askPermission = () => new Promise((resolve) => {
    const p = Notification.requestPermission(resolve); // old Safari: callback only
    if (p && p.then) p.then(resolve, () => resolve('denied'));
  });
  // Resolves once the registration has an active worker (the /chat page itself is outside the /chat/ scope).
  const activated = (reg) => new Promise((resolve) => {
    if (reg.active) return resolve(reg);
    const w = reg.installing || reg.waiting;
    if (!w) return resolve(reg);
    w.addEventListener('statechange', () => { if (w.state === 'activated') resolve(reg); });
  });
  // Push does not work from a cross-origin iframe (the widget), so only the full page offers it.
  if (VAPID && !EMBED && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window) {
    if (Notification.permission === 'denied') notifyStatus('notify_denied');
    else {
      notifyBtn.hidden = false;
      navigator.serviceWorker.getRegistration('/chat/')
        .then((reg) => reg && reg.pushManager.getSubscription())
        .then((sub) => { if (sub && Notification.permission === 'granted') notifyStatus('notify_on'); })
        .catch(() => {});
    }
    notifyBtn.addEventListener('click', async () => {
      if (notifyBtn.getAttribute('aria-disabled') === 'true') return;
      notifyBtn.setAttribute('aria-disabled', 'true');
      try {
        const perm = await askPermission(); // first, while the click still counts as a user gesture
        if (perm !== 'granted') return notifyStatus('notify_denied');
        let sub;
        try {
          const reg = await activated(await navigator.serviceWorker.register('/chat/sw.js', { scope: '/chat/' }));
          sub = (await reg.pushManager.getSubscription()) ||
            (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: vapidBytes(VAPID) }));
        } catch (err) { // the browser cannot do push here (private window, no push service…)
          if (window.console) console.warn('coprod push:', err);
          return notifyStatus('notify_denied');
        }
        const r = await fetch('/chat/push', {
          method: 'POST', credentials: 'same-origin', body: JSON.stringify(sub.toJSON()),
          headers: { 'Content-Type': 'application/json', 'X-Chat-CSRF': CSRF },
        });
        if (!r.ok) throw new Error('HTTP ' + r.status);
        notifyStatus('notify_on');
      } catch (err) {
        if (window.console) console.warn('coprod push:', err);
      } finally {
        notifyBtn.removeAttribute('aria-disabled');
      }
    });
  }

  /* ---------- embed: Escape closes the widget's panel ---------- */
  if (EMBED && window.parent !== window) {
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' || e.key === 'Esc') window.parent.postMessage({ type: 'coprod-close' }, '*');
    });
    // When the widget focuses the iframe, put the caret in the text box.
    window.addEventListener('focus', () => { if (document.activeElement === document.body) text.focus(); });
    if (document.hasFocus()) text.focus();
  }

  /* ---------- start ---------- */
  outbox().forEach(showPending);
  if (navigator.onLine === false) setStatus('offline');
  // "Connecting…" only when the first connection is slow (no flash on every load).
  setTimeout(() => { if (firstOpen && !statusKey) setStatus('connecting'); }, 1000);
  connect();
})();

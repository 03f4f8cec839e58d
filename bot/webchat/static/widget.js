/* Coprod chat widget for city sites:
   <script src="https://coprod.example/chat/widget.js" data-label="Chat with the city" async></script>
   A round launcher (bottom, inline-end corner) opens a panel with the chat in an iframe.
   Only its own elements (ids coprod-*) are styled, from here; nothing global is exposed. */
(function () {
  'use strict';
  var RE = /\/chat\/widget\.js(?:[?#].*)?$/;
  var me = document.currentScript;
  if (!me || !RE.test(me.src)) {
    me = null;
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0 && !me; i--) if (RE.test(all[i].src)) me = all[i];
  }
  if (!me || document.getElementById('coprod-launcher')) return;

  var origin = new URL(me.src, location.href).origin;
  var name = me.getAttribute('data-label') || 'Chat';
  var CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z';
  var SHUT = 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z';
  // Icons built with DOM calls, not innerHTML: fine under the host's CSP / Trusted Types.
  function icon(d) {
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg'), path = document.createElementNS(NS, 'path');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.style.cssText = 'all:initial;display:block;width:28px;height:28px;fill:currentColor';
    path.setAttribute('d', d);
    path.style.fill = 'currentColor';
    svg.appendChild(path);
    btn.textContent = '';
    btn.appendChild(svg);
  }
  var btn, panel, frame, isOpen = false;

  function start() {
    var side = getComputedStyle(document.documentElement).direction === 'rtl' ? 'left' : 'right';
    // all:initial shields our elements from the host page's CSS.
    btn = document.createElement('button');
    btn.id = 'coprod-launcher';
    btn.type = 'button';
    btn.setAttribute('aria-label', name);
    btn.setAttribute('aria-expanded', 'false');
    btn.setAttribute('aria-controls', 'coprod-panel');
    btn.style.cssText = 'all:initial;position:fixed;bottom:20px;' + side + ':20px;z-index:2147483001;' +
      'box-sizing:border-box;width:56px;height:56px;padding:0;border:2px solid #fff;border-radius:50%;' +
      'display:flex;align-items:center;justify-content:center;background:#1f4e79;color:#fff;cursor:pointer;' +
      'box-shadow:0 3px 10px rgba(0,0,0,.35)';
    icon(CHAT);
    // Our own focus ring; 'important' beats a host page's `outline: none !important`.
    btn.addEventListener('focus', function () {
      btn.style.setProperty('outline', '3px solid #0a66c2', 'important');
      btn.style.setProperty('outline-offset', '3px', 'important');
    });
    btn.addEventListener('blur', function () { btn.style.removeProperty('outline'); });
    btn.addEventListener('click', function () { if (isOpen) close(false); else open(); });

    panel = document.createElement('div');
    panel.id = 'coprod-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', name);
    panel.style.cssText = 'all:initial;display:none;position:fixed;bottom:88px;' + side + ':12px;z-index:2147483000;' +
      'width:400px;max-width:calc(100vw - 24px);height:640px;max-height:calc(100vh - 100px);max-height:calc(100dvh - 100px);' +
      'background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 6px 30px rgba(0,0,0,.3)';

    document.body.appendChild(panel);
    document.body.appendChild(btn);
    document.addEventListener('keydown', function (e) {
      var a = document.activeElement;
      if (isOpen && (e.key === 'Escape' || e.key === 'Esc') && (a === btn || panel.contains(a))) close(true);
    });
    // Escape pressed inside the iframe: chat.js posts {type: "coprod-close"}.
    window.addEventListener('message', function (e) {
      if (frame && e.source === frame.contentWindow && e.origin === origin && e.data && e.data.type === 'coprod-close') close(true);
    });
  }

  function open() {
    if (!frame) { // lazy: the chat loads on first open only
      frame = document.createElement('iframe');
      frame.id = 'coprod-frame';
      frame.title = me.getAttribute('data-title') || name;
      frame.src = origin + '/chat?embed=1';
      frame.setAttribute('allow', 'geolocation');
      frame.style.cssText = 'all:initial;display:block;width:100%;height:100%;border:0';
      // focus() before the chat has loaded does not reach it: hand the focus over again once loaded
      frame.addEventListener('load', function () { if (isOpen) frame.contentWindow.focus(); });
      panel.appendChild(frame);
    }
    panel.style.display = 'block';
    isOpen = true;
    btn.setAttribute('aria-expanded', 'true');
    icon(SHUT);
    frame.focus();
  }

  function close(refocus) {
    panel.style.display = 'none';
    isOpen = false;
    btn.setAttribute('aria-expanded', 'false');
    icon(CHAT);
    if (refocus) btn.focus();
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();

/* Convene live updates: notify-then-fetch.
 * An element with data-live-ws (a WebSocket path) and data-live-refresh (a permission-checked URL)
 * re-fetches its own content through htmx whenever the server says something changed. Messages
 * carry ids and versions only; the fetched fragment is what the viewer may see.
 * An element with data-live-cases="<uuid> <uuid>" subscribes to those cases on /ws/live/.
 * The element's data-live-state says "open" while its socket is connected and "closed" after.
 */
(function () {
  "use strict";
  function refresh(el) {
    if (window.htmx) {
      window.htmx.ajax("GET", el.dataset.liveRefresh, { target: el, swap: "innerHTML" });
    } else {
      window.location.reload();
    }
  }
  function connect(el, path, onOpen) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var delay = 1000;
    function open() {
      var socket = new WebSocket(scheme + window.location.host + path);
      socket.addEventListener("open", function () {
        delay = 1000;
        el.dataset.liveState = "open";  /* the server joined its groups before accepting */
        if (onOpen) { onOpen(socket); }
      });
      socket.addEventListener("message", function (event) {
        var data = {};
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data.type === "subscribed" || data.type === "unsubscribed") { return; }
        refresh(el);
      });
      socket.addEventListener("close", function (event) {
        el.dataset.liveState = "closed";
        if (event.code === 4401) {
          el.insertAdjacentHTML("afterbegin", '<p class="app-notification">Your session has ended. <a href="/signin/">Sign in again</a> to carry on.</p>');
          return;
        }
        if (event.code === 4403) {
          el.insertAdjacentHTML("afterbegin", '<p class="app-notification">Your access has changed. Reload the page.</p>');
          return;
        }
        setTimeout(function () { refresh(el); open(); }, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    open();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-ws]").forEach(function (el) {
      connect(el, el.dataset.liveWs);
    });
    document.querySelectorAll("[data-live-cases]").forEach(function (el) {
      var ids = (el.dataset.liveCases || "").split(/\s+/).filter(Boolean);
      connect(el, "/ws/live/", function (socket) {
        ids.forEach(function (id) { socket.send(JSON.stringify({ subscribe: id })); });
      });
    });
  });
})();

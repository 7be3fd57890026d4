/* Convene notification badge: the header fragment re-fetches itself (through htmx, permission-checked)
 * when the server pushes {"type": "notification.new"} to this person's socket. The message carries
 * no content; the fragment is the person's own notices. */
(function () {
  "use strict";
  function connect(el) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var delay = 1000;
    function open() {
      var socket = new WebSocket(scheme + window.location.host + el.dataset.noticeWs);
      socket.addEventListener("open", function () {
        delay = 1000;
        el.dataset.noticeState = "open";
      });
      socket.addEventListener("message", function (event) {
        var data = {};
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data.type === "notification.new" && window.htmx) { window.htmx.trigger(el, "notice"); }
      });
      socket.addEventListener("close", function (event) {
        el.dataset.noticeState = "closed";
        if (event.code === 4403) { return; }
        setTimeout(function () { if (window.htmx) { window.htmx.trigger(el, "notice"); } open(); }, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    open();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("notice-badge");
    if (el && el.dataset.noticeWs) { connect(el); }
  });
})();

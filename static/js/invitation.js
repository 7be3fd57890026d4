// The invitation link carries its token after "#": browsers never send that part to a server, so the
// token reaches no access log, proxy or Referer. Put it into the form and send it (POST) once.
(function () {
  "use strict";
  var form = document.getElementById("invitation-open");
  var field = document.getElementById("id_code");
  var token = window.location.hash.replace(/^#/, "");
  if (!form || !field || !token) {
    return;
  }
  history.replaceState(null, "", window.location.pathname);  // drop it from the address bar and history
  field.value = token;
  form.submit();
})();

// Campaign page: while a campaign is sending, its results section
// (data-refresh="<seconds>") is fetched again and swapped in, until the
// campaign stops running. Without this script the page has a 刷新 link.
(function () {
  "use strict";
  function poll(section) {
    var every = parseInt(section.getAttribute("data-refresh"), 10) * 1000;
    if (!(every > 0)) { return; }
    setTimeout(function () {
      fetch(window.location.pathname, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("camp-stats");
          if (!fresh) { return; }
          if (!fresh.hasAttribute("data-refresh")) {
            // Done, paused or cancelled: reload once for the new status and actions.
            window.location.reload();
            return;
          }
          section.replaceWith(document.importNode(fresh, true));
          poll(document.getElementById("camp-stats"));
        })
        .catch(function () { poll(section); });
    }, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var s = document.getElementById("camp-stats");
    if (s) { poll(s); }
  });
})();

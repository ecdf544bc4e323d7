// tsunagu: show <time data-local> elements in the browser's own time zone and remember the zone
// in the "tz" cookie, so the next page is rendered in it by the server (no inline script: the
// page's Content-Security-Policy allows scripts from this site only).
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || !/^[A-Za-z]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(zone)) {
    return;
  }
  if (document.cookie.indexOf("tz=" + zone) === -1) {
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }
  var lang = document.documentElement.lang || "en";
  var format = new Intl.DateTimeFormat(lang, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: zone,
    timeZoneName: "short"
  });
  var times = document.querySelectorAll("time[data-local][datetime]");
  for (var i = 0; i < times.length; i++) {
    var when = new Date(times[i].getAttribute("datetime"));
    if (!isNaN(when.getTime())) {
      times[i].textContent = format.format(when);
    }
  }
})();

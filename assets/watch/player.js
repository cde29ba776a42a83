// Reelsmith watch page: reports viewing events to the studio that served the page (same origin only).
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("rs-config").textContent);
  var video = document.getElementById("player");
  var OPT = "reelsmith-optout", OLD_TOKEN = "reelsmith-viewer";
  var store = (function () { try { return window.localStorage; } catch (e) { return null; } })();
  var privacySignal = navigator.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  var optedOut = privacySignal || (store && store.getItem(OPT) === "1");
  var optBtn = document.getElementById("optout");

  function randomToken() {
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  // A random token per page view, kept only in memory: the server uses it as a rate-limit key, never stores it.
  var token = randomToken();
  if (store) { store.removeItem(OLD_TOKEN); }  // an id older versions kept in this browser

  function showConsent() {
    optBtn.textContent = optedOut ? (privacySignal ? "Not counted (your browser asks not to be tracked)"
                                                   : "Count my viewing again") : "Don't count my viewing";
    optBtn.disabled = privacySignal;
    document.body.dataset.counting = optedOut ? "off" : "on";
  }
  optBtn.addEventListener("click", function () {
    optedOut = !optedOut;
    if (store) {
      if (optedOut) { store.setItem(OPT, "1"); } else { store.removeItem(OPT); }
    }
    showConsent();
  });
  showConsent();

  var tz = ""; try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { tz = ""; }
  var queue = [], watched = 0, lastTime = null, maxBatch = 40, holdUntil = 0;

  function body(events) {
    return JSON.stringify({video: cfg.video, session: cfg.session, token: token, arm: cfg.arm, tz: tz,
                           events: events});
  }
  function push(type) {
    if (optedOut) { return; }
    queue.push({type: type, position: Math.max(0, video.currentTime || 0), watched: watched});
    watched = 0;
  }
  function flush(useBeacon) {
    if (optedOut || !queue.length || (!useBeacon && Date.now() < holdUntil)) { return; }
    var events = queue.splice(0, maxBatch);
    var data = body(events);
    if (useBeacon && navigator.sendBeacon) {
      navigator.sendBeacon(cfg.endpoint, new Blob([data], {type: "application/json"}));
    } else {
      fetch(cfg.endpoint, {method: "POST", headers: {"Content-Type": "application/json"}, body: data,
                           keepalive: true, credentials: "same-origin"})
        .then(function (r) {
          // 429: slow down; 503: the server is busy. Keep the events and send them with a later batch.
          if (r.status === 429 || r.status >= 500) {
            queue = events.concat(queue);
            var wait = parseInt(r.headers.get("Retry-After") || "5", 10);
            holdUntil = Date.now() + 1000 * Math.min(60, isNaN(wait) ? 5 : Math.max(1, wait));
          }
        })
        .catch(function () { queue = events.concat(queue); });
    }
    if (queue.length && (useBeacon || Date.now() >= holdUntil)) { flush(useBeacon); }
  }

  // Seconds actually played: time-update steps while playing, not jumps from seeking.
  video.addEventListener("timeupdate", function () {
    var t = video.currentTime;
    if (lastTime !== null && !video.seeking && !video.paused) {
      var d = t - lastTime;
      if (d > 0 && d < 1.5) { watched += d; }
    }
    lastTime = t;
  });
  video.addEventListener("seeking", function () { lastTime = null; });
  video.addEventListener("play", function () { push("play"); flush(false); });
  video.addEventListener("pause", function () { if (!video.ended) { push("pause"); flush(false); } });
  video.addEventListener("seeked", function () { push("seek"); lastTime = video.currentTime; });
  video.addEventListener("ended", function () { push("ended"); flush(false); });
  setInterval(function () {
    if (!video.paused && !video.ended) { push("heartbeat"); flush(false); }
  }, (cfg.heartbeat || 5) * 1000);
  var left = false;
  function leave() { if (!left) { left = true; push("leave"); flush(true); } }
  window.addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { leave(); } else { left = false; }
  });
  push("impression"); flush(false);

  // Comments
  var form = document.getElementById("comment-form");
  var status = document.getElementById("comment-status");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = document.getElementById("comment-text").value;
    var author = document.getElementById("comment-author").value;
    status.textContent = "Posting…";
    fetch(cfg.comments, {method: "POST", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({video: cfg.video, token: token, text: text, author: author})})
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        if (res[0] !== 201) { status.textContent = res[1].error || "Could not post."; return; }
        var li = document.createElement("li");
        var b = document.createElement("b"); b.textContent = res[1].author;
        var p = document.createElement("p"); p.textContent = res[1].text;
        li.appendChild(b); li.appendChild(p);
        document.getElementById("comment-list").prepend(li);
        document.getElementById("comment-text").value = "";
        status.textContent = "Posted.";
      })
      .catch(function () { status.textContent = "Could not post (offline?)."; });
  });
})();

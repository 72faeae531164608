// hitlkit: keeps an open inbox up to date, and tells an open form when its event is resolved.
// Pages work the same without it (reload, links, forms).
"use strict";

// A stream of server-sent events that is open only while the page is visible: browsers allow
// a few connections per site, and background tabs should not hold them.
function followWhileVisible(url, handlers, onReconnect) {
  let source = null;
  function open() {
    source = new EventSource(url);
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, handler);
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && source) {
      source.close();
      source = null;
      document.body.dataset.live = "off";
    } else if (!document.hidden && !source) {
      open();
      onReconnect();
    }
  });
  if (!document.hidden) {
    open();
  }
  return function close() {
    if (source) {
      source.close();
    }
    source = null;
  };
}

(function () {
  const list = document.getElementById("inbox-list");
  if (!list || !("EventSource" in window) || !("fetch" in window)) {
    return;
  }
  const announce = document.getElementById("inbox-announce");
  let fetching = false;
  let again = false;

  // Keep keyboard focus on the same control when the list is replaced.
  function focusedKey() {
    const active = document.activeElement;
    return active && list.contains(active) ? active.dataset.focusKey || "" : null;
  }

  function restoreFocus(key) {
    if (key === null) {
      return;
    }
    const target = key && list.querySelector('[data-focus-key="' + CSS.escape(key) + '"]');
    (target || list).focus({ preventScroll: true });
  }

  function signature() {
    const count = list.querySelector("[data-count]");
    return count ? count.dataset.signature : "";
  }

  async function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      do {
        again = false;
        const response = await fetch(list.dataset.listUrl, {
          headers: { accept: "text/html" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (!response.ok) {
          break;
        }
        const html = await response.text();
        const key = focusedKey();
        const before = signature();
        list.innerHTML = html;
        restoreFocus(key);
        const count = list.querySelector("[data-count]");
        if (announce && count && before !== signature()) {
          announce.textContent = count.textContent.replace(/\s+/g, " ").trim();
        }
      } while (again);
    } catch (error) {
      // The app is away for now; the stream reconnects and says "changed" again.
    } finally {
      fetching = false;
    }
  }

  followWhileVisible(
    list.dataset.changesUrl,
    {
      changed: refresh,
      open: function () {
        document.body.dataset.live = "on";
      },
      error: function () {
        document.body.dataset.live = "off";
      },
    },
    function () {},
  );
  // Relative times ("in 5 min") age; refresh them now and then.
  window.setInterval(function () {
    if (!document.hidden) {
      refresh();
    }
  }, 60000);
})();

(function () {
  const card = document.querySelector("[data-outcomes-url]");
  const notice = document.getElementById("closed-notice");
  if (!card || !notice) {
    return;
  }
  let shown = false;
  let close = function () {};
  function showClosed() {
    if (shown) {
      return;
    }
    shown = true;
    close();
    notice.hidden = false;
    notice.focus();
  }
  const left = Date.parse(card.dataset.deadline) - Date.now();
  if (left < 2147483647) {
    window.setTimeout(showClosed, Math.max(left, 0) + 500);
  }
  if (!("EventSource" in window) || !("fetch" in window)) {
    return;
  }
  // While the page was hidden its stream was closed: load the page again (with the same
  // credentials) and see whether it still offers the form.
  async function check() {
    try {
      const response = await fetch(notice.querySelector("a").href, { cache: "no-store" });
      if (response.ok && !(await response.text()).includes('id="closed-notice"')) {
        showClosed();
      }
    } catch (error) {
      // The app is away for now; the stream will tell.
    }
  }
  // A page opened from an answer link follows its event's stream with the same link; once
  // reloaded without it, the app finds the link it keeps for the event (`event=`).
  const link = new URLSearchParams(window.location.search).get("token");
  const outcomesUrl = card.dataset.outcomesUrl + (link ? "&token=" + encodeURIComponent(link) : "");
  close = followWhileVisible(
    outcomesUrl,
    {
      outcome: function (event) {
        if (event.data === card.dataset.requestId) {
          showClosed();
        }
      },
    },
    check,
  );
})();

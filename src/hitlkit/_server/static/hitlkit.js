// hitlkit: keeps an open inbox up to date, and tells an open form when its event is resolved.
// Pages work the same without it (reload, links, forms).
"use strict";

(function () {
  const list = document.getElementById("inbox-list");
  if (!list || !("EventSource" in window) || !("fetch" in window)) {
    return;
  }
  const announce = document.getElementById("inbox-announce");
  const listUrl = list.dataset.listUrl;
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

  async function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      do {
        again = false;
        const response = await fetch(listUrl, {
          headers: { accept: "text/html" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (!response.ok) {
          break;
        }
        const html = await response.text();
        const key = focusedKey();
        const before = list.dataset.signature;
        list.innerHTML = html;
        const count = list.querySelector("[data-count]");
        list.dataset.signature = count ? count.dataset.signature : "";
        restoreFocus(key);
        if (announce && count && before !== undefined && before !== list.dataset.signature) {
          announce.textContent = count.textContent.trim();
        }
      } while (again);
    } catch (error) {
      // The app is away; the stream reconnects and asks again.
    } finally {
      fetching = false;
    }
  }

  const first = list.querySelector("[data-count]");
  list.dataset.signature = first ? first.dataset.signature : "";
  const source = new EventSource(list.dataset.changesUrl);
  source.addEventListener("changed", refresh);
  source.addEventListener("open", function () {
    document.body.dataset.live = "on";
  });
  source.addEventListener("error", function () {
    document.body.dataset.live = "off";
  });
  // Relative times ("in 5 min") age; refresh them now and then.
  window.setInterval(refresh, 60000);
})();

(function () {
  const card = document.querySelector("[data-outcomes-url]");
  const notice = document.getElementById("closed-notice");
  if (!card || !notice) {
    return;
  }
  let shown = false;
  function showClosed() {
    if (shown) {
      return;
    }
    shown = true;
    notice.hidden = false;
    notice.focus({ preventScroll: false });
  }
  const left = Date.parse(card.dataset.deadline) - Date.now();
  if (left < 2147483647) {
    window.setTimeout(showClosed, Math.max(left, 0) + 500);
  }
  if ("EventSource" in window) {
    const source = new EventSource(card.dataset.outcomesUrl);
    source.addEventListener("outcome", function (event) {
      if (event.data === card.dataset.requestId) {
        source.close();
        showClosed();
      }
    });
  }
})();

/* Elevate: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // Countdowns: <time datetime="..." data-countdown>. When one reaches zero it fires
  // "countdown-ended", which the row listens for (hx-trigger) to fetch its new state.
  // ---------------------------------------------------------------------------------------
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function formatLeft(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h > 0) return h + " h " + pad(m) + " min left";
    if (m >= 10) return m + " min left";
    return m + ":" + pad(s) + " left";
  }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("datetime"));
      if (isNaN(end)) return;
      var left = Math.max(0, Math.round((end - now) / 1000));
      el.textContent = left > 0 ? formatLeft(left) : "ending…";
      el.classList.toggle("countdown-soon", left > 0 && left <= 300);
      if (left === 0 && !el.dataset.ended) {
        el.dataset.ended = "1";
        el.dispatchEvent(new CustomEvent("countdown-ended", { bubbles: true }));
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Request form: device search, per-device policy (presets, maximum, passwordless), custom
  // duration selecting its radio.
  // ---------------------------------------------------------------------------------------
  function setupRequestForm(form) {
    if (form.dataset.enhanced) return;
    form.dataset.enhanced = "1";

    var searchWrap = form.querySelector("[data-device-search-wrap]");
    var search = form.querySelector("[data-device-search]");
    if (searchWrap && search) {
      searchWrap.hidden = false;
      search.addEventListener("input", function () {
        var words = search.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
        var shown = 0;
        form.querySelectorAll("[data-device-option]").forEach(function (option) {
          var text = option.dataset.search || "";
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          option.hidden = !match;
          if (match) shown++;
        });
        var none = form.querySelector("[data-device-none]");
        if (none) none.hidden = shown > 0;
        var count = form.querySelector("[data-device-count]");
        if (count) count.textContent = shown === 1 ? "1 device matches" : shown + " devices match";
      });
      search.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") return;
        event.preventDefault(); // Enter picks the first match instead of submitting
        var first = form.querySelector("[data-device-option]:not([hidden]) input");
        if (first) { first.checked = true; first.focus(); applyPolicy(form); }
      });
    }

    form.querySelectorAll("input[name=device]").forEach(function (radio) {
      radio.addEventListener("change", function () { applyPolicy(form); });
    });

    // The custom length field shows once "Custom" is picked (always, without JavaScript).
    var custom = form.querySelector("input[name=custom_minutes]");
    var customRadio = form.querySelector("[data-custom-radio]");
    var customField = form.querySelector("[data-custom-field]");
    if (custom && customRadio && customField) {
      var syncCustom = function () {
        customField.hidden = !customRadio.checked && !custom.value;
      };
      form.querySelectorAll("input[name=minutes]").forEach(function (radio) {
        radio.addEventListener("change", function () {
          syncCustom();
          if (customRadio.checked) custom.focus();
        });
      });
      custom.addEventListener("input", function () { if (custom.value) customRadio.checked = true; });
      syncCustom();
    }
    applyPolicy(form);
  }

  function applyPolicy(form) {
    var device = form.querySelector("input[name=device]:checked");
    if (!device) return;
    var presets = (device.dataset.presets || "").split(",");
    var max = parseInt(device.dataset.max, 10);
    form.querySelectorAll("[data-preset]").forEach(function (chip) {
      var allowed = presets.indexOf(chip.dataset.preset) !== -1;
      chip.hidden = !allowed;
      var input = chip.querySelector("input");
      if (!allowed && input.checked) {
        input.checked = false;
        var first = form.querySelector("[data-preset]:not([hidden]) input");
        if (first) first.checked = true;
      }
    });
    var custom = form.querySelector("input[name=custom_minutes]");
    var hint = form.querySelector("[data-max-hint]");
    if (custom && max) custom.max = String(max);
    if (hint && device.dataset.maxLabel) hint.textContent = "Up to " + device.dataset.maxLabel + " on this device.";
    var approval = form.querySelector("[data-approval-hint]");
    if (approval && device.dataset.approval) approval.textContent = device.dataset.approval;
    var schedule = form.querySelector("[data-schedule-field]");
    if (schedule) {
      var ahead = parseInt(device.dataset.scheduleAhead, 10) || 0;
      schedule.hidden = ahead <= 0;
      if (ahead <= 0) schedule.querySelector("input").value = "";
      var scheduleHint = schedule.querySelector("[data-schedule-hint]");
      if (scheduleHint && ahead > 0) {
        scheduleHint.textContent = "Up to " + ahead + " hours ahead on this device, in your time zone. You can cancel a scheduled start until it begins.";
      }
    }
    var passwordless = form.querySelector("[data-passwordless-field]");
    if (passwordless) {
      var allowed = device.dataset.passwordless === "1";
      passwordless.hidden = !allowed;
      if (!allowed) passwordless.querySelector("input").checked = false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Disclosures (Extend, Revoke): Escape and "Keep it" close them; opening one closes its sibling.
  // ---------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-details]");
    if (close) {
      var details = close.closest("details");
      details.open = false;
      details.querySelector("summary").focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var details = event.target.closest && event.target.closest("details[open]");
    if (details) { details.open = false; details.querySelector("summary").focus(); }
  });
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches(".action") || !details.open) return;
    details.parentElement.querySelectorAll("details.action[open]").forEach(function (other) {
      if (other !== details) other.open = false;
    });
    var field = details.querySelector("input[type=text], button[type=submit]");
    if (field) field.focus();
  }, true);

  // ---------------------------------------------------------------------------------------
  // htmx glue: don't refresh a region under the user's hands; keep focus and announce changes.
  // ---------------------------------------------------------------------------------------
  var focusInside = {};
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt, target = event.detail.target;
    // A row polling itself: skip this round while a disclosure is open or the user is typing
    // in it (the swap would close it under their hands). The next poll tries again. A list
    // reloading after a change (live.py) tries again a few seconds later.
    var cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    var changed = cause && cause.type === "elevations-changed";
    if (elt.matches("[data-row], [data-follows-changes]") && busy(elt, !changed)) {
      event.preventDefault();
      if (changed) {
        window.setTimeout(function () { window.htmx.trigger(document.body, "elevations-changed"); }, 3000);
      }
      return;
    }
    if (target && target.id) focusInside[target.id] = target.contains(document.activeElement);
  });

  // A region is busy while a disclosure in it is open or someone types in it. A list's routine
  // reload (not one after a change) also waits while the keyboard focus is anywhere inside it.
  function busy(region, routine) {
    var focused = document.activeElement;
    if (region.querySelector("details[open]")) return true;
    if (!region.contains(focused)) return false;
    return (routine && region.matches("[data-follows-changes]")) || focused.matches("input, textarea, select");
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    var fresh = elt && elt.id ? document.getElementById(elt.id) : null;
    if (!fresh) return;
    if (focusInside[fresh.id]) {
      delete focusInside[fresh.id];
      var focus = fresh.querySelector(".form-error, .has-error [aria-invalid=true], .has-error input, [data-swap-focus]") ||
        fresh.querySelector("summary, a, button") || (fresh.hasAttribute("tabindex") ? fresh : null);
      if (focus) focus.focus();
    }
    var previous = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (fresh.dataset.announce && previous && previous.dataset && previous.dataset.state &&
        previous.dataset.state !== fresh.dataset.state) {
      announce(fresh.dataset.announce);
    }
  });

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // "Request admin" jumps to the form on the same page instead of loading another one.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-jump]");
    if (!link) return;
    var target = document.querySelector(link.dataset.jump);
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({ behavior: "smooth", block: "start" });
    var first = target.querySelector("input[name=device]:checked, input[name=device], textarea");
    (first || target).focus({ preventScroll: true });
  });

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-request-form]").forEach(setupRequestForm);
    if (root.matches && root.matches("[data-request-form]")) setupRequestForm(root);
    (root.querySelectorAll ? root : document).querySelectorAll("[data-close-details]").forEach(function (button) {
      button.hidden = false;
    });
    tickCountdowns();
  }

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  }
  window.setInterval(tickCountdowns, 1000);
})();

/* The dashboard: income (M-Pesa + vouchers = total) today, this week and this month, what
   needs the operator, the charts, income month by month, and central sync when it is set up. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  var MONEY_EVENTS = /^(payment|subscription|voucher|session|router|sync|alert)\./;

  /* Total income, and what it is made of: M-Pesa and vouchers. */
  function incomeCard(label, figures, id) {
    var card = C.card(label, C.kes(figures.total), id);
    card.appendChild(h("div", {cls: "note", "data-part": "mpesa"},
      "M-Pesa " + C.kes(figures.mpesa.amount) + " · " + C.plural(figures.mpesa.payments, "payment")));
    card.appendChild(h("div", {cls: "note", "data-part": "vouchers"},
      "Vouchers " + C.kes(figures.vouchers.amount) + " · " + C.plural(figures.vouchers.count, "voucher")));
    return card;
  }

  function monthName(month) {
    var parts = month.split("-");
    return new Intl.DateTimeFormat("en-GB", {month: "short", year: "numeric", timeZone: "UTC"})
      .format(new Date(Date.UTC(Number(parts[0]), Number(parts[1]) - 1, 1)));
  }

  C.pages.dashboard = function () {
    var main = C.clear(C.main());
    var cards = h("div", {cls: "cards", id: "cards"});
    var revenue = h("div", {cls: "chart-box", id: "chart-revenue"});
    var sessions = h("div", {cls: "chart-box", id: "chart-sessions"});
    var months = h("div", {id: "income-months"});
    var sync = h("section", {id: "sync-section"});
    main.appendChild(C.title("Dashboard"));
    main.appendChild(cards);
    main.appendChild(h("section", {cls: "charts"},
      h("div", {}, h("h2", {text: "Income per day (30 days)"}), revenue),
      h("div", {}, h("h2", {text: "Devices online (24 hours)"}), sessions)));
    main.appendChild(h("h2", {text: "Income month by month"}));
    main.appendChild(months);
    main.appendChild(sync);

    function draw(d) {
      var p = d.payments_today, q = d.queue, i = d.income;
      var waiting = p.pending + p.received, ended = p.failed + p.cancelled + p.expired;
      C.clear(cards);
      var needs = q.failed + (d.alerts_open || 0);
      if (needs) {
        var bits = [];
        if (d.alerts_open) bits.push(C.plural(d.alerts_open, "alert"));
        if (q.failed) bits.push(C.plural(q.failed, "failed task"));
        var card = C.card("Needs you", bits.join(" · "), "needs-you", "Open System health");
        card.classList.add("warn");
        cards.appendChild(h("a", {href: "/system", cls: "card-link"}, card));
      }
      [incomeCard("Income today", i.today, "income-today"),
       incomeCard("This week", i.week, "income-week"),
       incomeCard("This month", i.month, "income-month"),
       C.card("Paid payments today", String(p.paid), "payments-today-paid",
              C.plural(waiting, "waiting", "waiting") + " · " + C.plural(ended, "ended unpaid", "ended unpaid") +
              (ended ? " (" + p.failed + " failed, " + p.cancelled + " cancelled, " + p.expired + " expired)" : "")),
       C.card("Online now", String(d.sessions_open), "sessions-open", C.plural(d.sessions_open, "device") + " connected"),
       C.card("Paying customers", String(d.paying_customers), "paying-customers", "with time left now"),
       C.card("Routers online", d.routers.online + " of " + d.routers.total, "routers-online"),
       C.card("Task queue", q.queued + " waiting", "queue-depth",
              q.mode + " · " + q.scheduled + " retrying · " + q.failed + " failed")
      ].forEach(function (c) { cards.appendChild(c); });
      if (q.failed) cards.lastChild.classList.add("warn");
    }
    /* A real table on every screen (twelve short rows read best as rows, also on a phone). */
    function drawMonths(data) {
      function amount(figure, count) {
        return h("span", {}, C.kes(figure), h("br"), h("small", {cls: "muted", text: count}));
      }
      C.clear(months).appendChild(h("table", {cls: "months"},
        h("thead", {}, h("tr", {}, ["Month", "M-Pesa", "Vouchers", "Total"].map(function (t) { return h("th", {text: t}); }))),
        h("tbody", {}, data.months.slice().reverse().map(function (m) {
          return h("tr", {"data-id": m.month},
            h("td", {text: monthName(m.month)}),
            h("td", {}, amount(m.mpesa.amount, C.plural(m.mpesa.payments, "payment"))),
            h("td", {}, amount(m.vouchers.amount, C.plural(m.vouchers.count, "voucher"))),
            h("td", {}, h("strong", {text: C.kes(m.total)})));
        }))));
    }
    function load() {
      return C.get("/api/admin/dashboard").then(function (d) {
        draw(d);
        // Figures are shared by every open page for a second: ask again if they predate an event seen.
        if (d.last_event_id < C.lastEventId) reload();
      }).then(function () {
        return Promise.all([C.svg(revenue, "/api/admin/charts/revenue.svg"), C.svg(sessions, "/api/admin/charts/sessions.svg"),
                            C.get("/api/admin/income").then(drawMonths)]);
      }).catch(C.failed);
    }
    function loadSync() {
      C.api("GET", "/api/admin/sync").then(function (s) {
        C.clear(sync);
        if (!s.enabled) return;  // a one-site operator has nothing to read here
        var said;
        if (!s.last_success) said = "Nothing has reached the central server yet.";
        else if (!s.waiting) said = "Everything is at the central server (last sent " + C.time(s.last_success) + ").";
        else said = C.plural(s.waiting, "record") + " waiting to be sent, the oldest from " + C.time(s.oldest_waiting) +
          " (last sent " + C.time(s.last_success) + ").";
        sync.appendChild(h("h2", {text: "Central server"}));
        sync.appendChild(h("div", {cls: "panel", id: "sync-status"},
          h("p", {text: said}),
          s.last_error ? h("p", {cls: "error", text: "The last try failed" + (s.last_error_at ? " at " + C.time(s.last_error_at) : "") +
            (s.failures > 1 ? " (" + C.plural(s.failures, "failure") + " in a row)" : "") + ": " + s.last_error}) : null,
          h("p", {cls: "muted", text: s.config_version ? "Packages and settings from the central server: update " +
            s.config_version + " applied." : "No packages or settings have come from the central server yet."})));
      }).catch(function () { C.clear(sync); });
    }
    load(); loadSync();
    var reload = C.debounce(load, 500), reloadSync = C.debounce(loadSync, 500);
    return {onEvent: function (e) { if (MONEY_EVENTS.test(e.type)) reload(); if (/^sync\./.test(e.type)) reloadSync(); }};
  };
})();

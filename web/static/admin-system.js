/* System health: what needs the operator first (open alerts and failed tasks, in words, with
   the buttons the command line's `queue retry` would be), then the task queue, past alerts
   and the health log. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  function subjects(list) {
    return h("ul", {cls: "subjects"}, list.map(function (s) {
      var href = s.payment_id ? "/payments/" + s.payment_id : s.customer_id ? "/customers/" + s.customer_id :
                 s.router_id ? "/routers" : null;
      return h("li", {"data-kind": s.kind}, h("span", {cls: "muted", text: s.kind + ": "}),
               href ? C.link(href, s.label) : s.label);
    }));
  }

  function failedCard(f, reload) {
    return h("article", {cls: "attention failed-task", "data-id": f.id},
      h("h3", {text: f.work}),
      f.subjects.length ? subjects(f.subjects) : null,
      h("p", {cls: "problem", text: f.problem}),
      h("p", {cls: "muted", text: "Gave up " + C.time(f.failed_at) + " after " + C.plural(f.attempts, "try", "tries") + "."}),
      h("div", {cls: "actions"},
        C.button("Retry", function () {
          return C.post("/api/admin/queue/failed/" + f.id + "/retry").then(function () { C.toast("Sent again"); reload(); });
        })),
      C.details("Details", h("pre", {cls: "raw", text: f.task + " " + JSON.stringify(f.args) + "\n" + f.error})));
  }

  function alertCard(a, reload) {
    var action = null;
    if (a.action && a.action.kind === "retry_all") {
      action = C.button(a.action.label, function () {
        return C.post("/api/admin/queue/failed/retry").then(function (r) {
          C.toast("Sent again: " + C.plural(r.retried.length, "task")); reload();
        });
      });
    } else if (a.action && a.action.kind === "open") {
      action = h("a", {cls: "button", href: a.action.href}, a.action.label);
    }
    return h("article", {cls: "attention alert", "data-id": a.id},
      h("h3", {text: a.headline}),
      h("p", {cls: "muted", text: "Since " + C.time(a.raised_at) + ". " + a.delivery}),
      action ? h("div", {cls: "actions"}, action) : null,
      C.details("Details", h("pre", {cls: "raw", text: a.message})));
  }

  C.pages.system = function () {
    var main = C.clear(C.main());
    var needs = h("section", {id: "needs-you"}), queue = h("div", {id: "queue"}), past = h("div", {id: "alerts"}),
        health = h("div", {id: "health"});
    main.appendChild(C.title("System health"));
    main.appendChild(needs);
    [["Task queue", queue], ["Alerts", past], ["Health log", health]].forEach(function (s) {
      main.appendChild(h("h2", {text: s[0]})); main.appendChild(s[1]);
    });

    function drawNeeds(alerts, failed) {
      var open = alerts.filter(function (a) { return a.open; });
      C.clear(needs).appendChild(h("h2", {text: "Needs you"}));
      if (!open.length && !failed.length) {
        needs.appendChild(h("p", {cls: "all-well", id: "all-well", text: "Nothing needs you now: no open alerts, no failed tasks."}));
        return;
      }
      open.forEach(function (a) { needs.appendChild(alertCard(a, load)); });
      if (failed.length) {
        var offered = open.some(function (a) { return a.action && a.action.kind === "retry_all"; });  // by the alert above
        needs.appendChild(h("div", {cls: "page-head"}, h("h3", {text: C.plural(failed.length, "failed task") + ": work that gave up after its retries"}),
          failed.length > 1 && !offered ? C.button("Retry all", function () {
            return C.post("/api/admin/queue/failed/retry").then(load);
          }) : null));
        failed.forEach(function (f) { needs.appendChild(failedCard(f, load)); });
      }
    }

    function drawQueue(q) {
      var mode = C.isAdmin() ? C.button(q.mode === "async" ? "Switch to immediate" : "Switch to async", function () {
        return C.post("/api/admin/queue/mode", {mode: q.mode === "async" ? "immediate" : "async"}).then(load);
      }) : "";
      var busy = q.tasks.filter(function (t) { return t.queued || t.scheduled || t.running || t.failed; });
      var sum = function (key) { return q.tasks.reduce(function (n, t) { return n + t[key]; }, 0); };
      C.clear(queue).appendChild(h("p", {id: "queue-mode"}, "Mode: ", h("strong", {text: q.mode}), " ", mode));
      queue.appendChild(h("p", {id: "queue-summary", text: C.plural(sum("queued"), "task") + " waiting, " +
        sum("scheduled") + " retrying, " + sum("running") + " running; " + sum("done") + " done since hotspotd started." +
        (busy.length ? "" : " Nothing is busy.")}));
      queue.appendChild(C.details("Each kind of task (" + q.tasks.length + ")", C.table([
        ["Task", function (t) { return t.task; }], ["Waiting", function (t) { return t.queued; }],
        ["Retrying", function (t) { return t.scheduled; }], ["Running", function (t) { return t.running; }],
        ["Done", function (t) { return t.done; }], ["Retried", function (t) { return t.retried; }],
        ["Failed", function (t) { return t.failed; }]], q.tasks), "queue-tasks"));
    }

    function load() {
      Promise.all([C.get("/api/admin/alerts?per_page=20"), C.get("/api/admin/queue/failed")]).then(function (got) {
        drawNeeds(got[0].items, got[1].items);
        var gone = got[0].items.filter(function (a) { return !a.open; });
        C.clear(past).appendChild(C.table([
          ["Raised", function (a) { return C.time(a.raised_at); }],
          ["What", function (a) { return a.headline; }],
          ["Over", function (a) { return C.time(a.cleared_at); }],
          ["Messages", function (a) { return a.delivery || "—"; }]
        ], gone, "No past alerts."));
      }).catch(C.failed);
      C.get("/api/admin/queue").then(drawQueue).catch(C.failed);
      C.get("/api/admin/health?per_page=30").then(function (data) {
        C.clear(health).appendChild(C.table([["Time", function (l) { return C.time(l.at); }], ["Part", function (l) { return l.component; }],
          ["Level", function (l) { return C.status(l.level); }], ["Message", function (l) { return l.message; }]], data.items, "Nothing logged."));
      }).catch(C.failed);
    }
    load();
    var reload = C.debounce(load, 500);
    return {onEvent: function (e) { if (/^(system|alert)\./.test(e.type) || e.type === "payment.processed") reload(); }};
  };
})();

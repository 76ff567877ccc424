// Captive portal: pay or redeem, wait for the result, then log the device in.
(function () {
  "use strict";
  var hs = window.HOTSPOT || {};
  var statusEl = document.getElementById("status");
  // A printed voucher's QR code opens the portal as /?voucher=CODE: the code is filled in.
  var voucherCode = new URLSearchParams(location.search).get("voucher");
  if (voucherCode && document.getElementById("code")) document.getElementById("code").value = voucherCode.slice(0, 40);

  function say(text, isError) {
    statusEl.textContent = text;
    statusEl.className = isError ? "error" : "";
  }

  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); });
  }

  // One request at a time: a second tap must not send a second M-Pesa prompt.
  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = on; });
  }

  function login(username, password) {
    var form = document.getElementById("login-form");
    if (!form.getAttribute("action")) {
      say("You are online. Username " + username + ", password " + password + ".");
      return;
    }
    form.username.value = username;
    form.password.value = password;
    say("Paid. Logging you in…");
    form.submit();
  }

  function poll(paymentId, deadline, done) {
    var q = "?mac=" + encodeURIComponent(hs.mac || "") + "&ip=" + encodeURIComponent(hs.ip || "");
    fetch("/api/portal/payments/" + encodeURIComponent(paymentId) + q)
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.status === "paid" && p.username) { login(p.username, p.password); return; }
        if (p.status === "pending") {
          if (Date.now() > deadline) { say("Still waiting for M-Pesa. Keep this page open.", true); }
          setTimeout(function () { poll(paymentId, deadline, done); }, 2000);
          return;
        }
        done();
        say("Payment " + p.status + (p.reason ? ": " + p.reason : "") + ". You can try again.", true);
      })
      .catch(function () { setTimeout(function () { poll(paymentId, deadline, done); }, 3000); });
  }

  document.getElementById("pay-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    var chosen = form.querySelector("input[name=package_id]:checked");
    say("Sending the M-Pesa request to your phone…");
    busy(form, true);
    post("/api/portal/pay", {package_id: chosen && Number(chosen.value), phone: form.phone.value,
                             mac: hs.mac || null, ip: hs.ip || null})
      .then(function (res) {
        if (!res.ok) { busy(form, false); say(res.body.error || "Could not start the payment", true); return; }
        say("Check your phone and enter your M-Pesa PIN.");
        poll(res.body.payment_id, Date.now() + 120000, function () { busy(form, false); });
      })
      .catch(function () { busy(form, false); say("No connection to the hotspot. Try again.", true); });
  });

  document.getElementById("voucher-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    busy(form, true);
    post("/api/portal/voucher", {code: form.code.value, mac: hs.mac || null, ip: hs.ip || null})
      .then(function (res) {
        busy(form, false);
        if (!res.ok) { say(res.body.error || "That voucher did not work", true); return; }
        login(res.body.username, res.body.password);
      })
      .catch(function () { busy(form, false); say("No connection to the hotspot. Try again.", true); });
  });
})();

<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{site}} WiFi</title>
<link rel="stylesheet" href="/static/portal.css">
</head>
<body>
<main>
  <h1>{{site}} WiFi</h1>
  % if login.get("error"):
  <p class="error" role="alert">{{login["error"]}}</p>
  % end
  <section id="buy">
    <h2>Buy a package</h2>
    % if not packages:
    <p>No packages are on sale right now.</p>
    % end
    <form id="pay-form">
      <fieldset>
        % for p in packages:
        <label class="package">
          <input type="radio" name="package_id" value="{{p['id']}}" required>
          <span class="name">{{p['name']}}</span>
          <span class="price">KES {{p['price']}}</span>
          <span class="details">{{p['duration']}}{{' · ' + p['rate'] if p['rate'] else ''}}{{' · ' + p['data'] if p['data_limit'] else ''}}</span>
        </label>
        % end
      </fieldset>
      <label for="phone">M-Pesa number</label>
      <input id="phone" name="phone" type="tel" inputmode="tel" placeholder="0712 345 678" autocomplete="tel" required>
      <button type="submit">Pay with M-Pesa</button>
    </form>
  </section>
  <p id="status" role="status" aria-live="polite"></p>
  <section id="voucher">
    <h2>Have a voucher?</h2>
    <form id="voucher-form">
      <label for="code">Voucher code</label>
      <input id="code" name="code" autocomplete="off" autocapitalize="characters" required>
      <button type="submit">Use voucher</button>
    </form>
  </section>
  <form id="login-form" method="post" action="{{login.get('link-login-only') or ''}}" hidden>
    <input type="hidden" name="username"><input type="hidden" name="password">
    <input type="hidden" name="dst" value="{{login.get('link-orig') or ''}}">
    <input type="hidden" name="popup" value="true">
  </form>
</main>
<script>window.HOTSPOT = {{!login_json}};</script>
<script src="/static/portal.js"></script>
</body>
</html>

<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{site.name}} · WiFi</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="{{css}}">
</head>
<body>
<header class="bar">
  <div class="brand"><strong>{{site.name}}</strong> <span>WiFi</span></div>
  <nav class="langs" aria-label="{{t('page.language')}}">
  % for code, name, href in switch:
  % if code == lang:
    <span aria-current="true">{{name}}</span>
  % else:
    <a href="{{href}}" hreflang="{{code}}" lang="{{code}}">{{name}}</a>
  % end
  % end
  </nav>
</header>
<main>
% if site.notice:
  <p class="notice">{{site.notice}}</p>
% end
% if login['error']:
  <p class="alert" role="alert">{{login['error']}}</p>
% end
% if site.offline:
  <p class="alert">{{t('page.offline')}}</p>
% end
  <section id="account" class="card" hidden></section>
  <section id="buy" class="card">
    <h1>{{t('page.buy_title')}}</h1>
% if not packages:
    <p>{{t('page.no_packages')}}</p>
% else:
    <form id="pay-form" method="post" action="/pay">
      <fieldset class="packages">
        <legend>{{t('page.choose_package')}}</legend>
% for p in packages:
        <label class="package">
          <input type="radio" name="package_id" value="{{p['id']}}" required>
          <span class="name">{{p['name']}}</span>
          <span class="price">KES {{p['price']}}</span>
          <span class="details">{{p['details']}}</span>
        </label>
% end
      </fieldset>
      <label for="phone">{{t('page.phone_label')}}</label>
      <input id="phone" name="phone" type="tel" inputmode="tel" placeholder="0712 345 678" autocomplete="tel" maxlength="20" required>
      {{!hidden}}
      <button type="submit" class="primary" id="pay-button">{{t('page.pay_button')}}</button>
% if paybill:
      <button type="button" class="link" id="paybill-button" hidden>{{t('page.paybill_button', number=paybill)}}</button>
% end
    </form>
% end
  </section>
  <section id="progress" class="card" hidden></section>
  <p id="status" role="status" aria-live="polite"></p>
% if trial:
  <section id="trial" class="card">
    <form id="trial-form" method="post" action="/trial">
      <p>{{t('page.trial_text', minutes=trial)}}</p>
      {{!hidden}}
      <button type="submit" class="secondary">{{t('page.trial_button', minutes=trial)}}</button>
    </form>
  </section>
% end
  <details id="voucher" class="card"{{' open' if voucher else ''}}>
    <summary>{{t('page.voucher_title')}}</summary>
    <form id="voucher-form" method="post" action="/voucher">
      <label for="code">{{t('page.voucher_label')}}</label>
      <input id="code" name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="40" required value="{{voucher}}">
      {{!hidden}}
      <button type="submit" class="secondary">{{t('page.voucher_button')}}</button>
    </form>
  </details>
  <details id="restore" class="card">
    <summary>{{t('page.restore_title')}}</summary>
    <form id="restore-form" method="post" action="/restore">
      <p class="hint">{{t('page.restore_hint')}}</p>
      <label for="receipt">{{t('page.receipt_label')}}</label>
      <input id="receipt" name="receipt" placeholder="TJK3ABC12X" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="20" required>
      <label for="restore-phone">{{t('page.restore_phone_label')}}</label>
      <input id="restore-phone" name="phone" type="tel" inputmode="tel" placeholder="0712 345 678" maxlength="20" required>
      {{!hidden}}
      <button type="submit" class="secondary">{{t('page.restore_button')}}</button>
    </form>
  </details>
  <details id="login" class="card">
    <summary>{{t('page.login_title')}}</summary>
    <form id="login-form" method="post" action="{{login['link-login-only'] or '/login'}}">
      <label for="username">{{t('page.username')}}</label>
      <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required>
      <label for="password">{{t('page.password')}}</label>
      <input id="password" name="password" type="password" autocomplete="current-password" maxlength="64" required>
      <input type="hidden" name="dst" value="{{login['link-orig']}}">
      <input type="hidden" name="popup" value="false">
      {{!hidden}}
      <button type="submit" class="secondary">{{t('page.login_button')}}</button>
    </form>
  </details>
% if site.help_phone:
  <p class="help">{{t('page.help')}} <a href="tel:{{site.help_phone.replace(' ', '')}}">{{site.help_phone}}</a></p>
% end
</main>
<form id="router-login" method="post" action="{{login['link-login-only']}}" target="router-frame" hidden>
  <input type="hidden" name="username"><input type="hidden" name="password">
  <input type="hidden" name="dst" value="{{login['link-orig']}}"><input type="hidden" name="popup" value="false">
</form>
<iframe name="router-frame" id="router-frame" title="router" hidden></iframe>
<script type="application/json" id="hotspot-page">{{!page_json}}</script>
<script type="application/json" id="hotspot-texts">{{!texts_json}}</script>
<script src="{{js}}"></script>
</body>
</html>

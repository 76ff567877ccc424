<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
% if refresh:
<meta http-equiv="refresh" content="{{refresh}}">
% end
<title>{{site.name}} · WiFi</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="{{css}}">
</head>
<body>
<header class="bar"><div class="brand"><strong>{{site.name}}</strong> <span>WiFi</span></div></header>
<main>
  <section class="card{{' failed' if failed else ''}}" id="done">
    <h1>{{title}}</h1>
% for line in lines:
    <p>{{line}}</p>
% end
% if access:
    <dl class="facts">
% for label, value in access:
      <dt>{{label}}</dt><dd>{{value}}</dd>
% end
    </dl>
% end
% if credentials:
    <p class="hint">{{t('page.other_device')}}</p>
    <dl class="facts credentials">
      <dt>{{t('page.username')}}</dt><dd class="secret">{{credentials[0]}}</dd>
      <dt>{{t('page.password')}}</dt><dd class="secret">{{credentials[1]}}</dd>
    </dl>
% if login['link-login-only']:
    <form method="post" action="{{login['link-login-only']}}">
      <input type="hidden" name="username" value="{{credentials[0]}}">
      <input type="hidden" name="password" value="{{credentials[1]}}">
      <input type="hidden" name="dst" value="{{login['link-orig']}}">
      <input type="hidden" name="popup" value="false">
      <button type="submit" class="primary">{{t('page.go_online')}}</button>
    </form>
% end
% end
    <p><a href="{{back}}">{{t('page.back')}}</a></p>
  </section>
</main>
</body>
</html>

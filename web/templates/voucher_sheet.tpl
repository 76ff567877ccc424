<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vouchers {{batch['batch']}} · {{site.name}}</title>
<link rel="stylesheet" href="/static/admin-print.css">
</head>
<body>
<header class="sheet-head">
  <strong>{{site.name}}</strong> · WiFi vouchers · batch {{batch['batch']}} · {{batch['package']}} ·
  KES {{batch['price']}} · printed {{printed}} ({{tz}}) · {{len(cards)}} unused
  <a class="noprint" href="/vouchers/{{batch['batch']}}">back</a>
</header>
% if not cards:
<p class="empty">No unused vouchers left in this batch.</p>
% end
<main class="sheet">
% for card in cards:
  <section class="card">
    <div class="qr-box">{{!card['qr']}}</div>
    <div class="text">
      <div class="site">{{site.name}}</div>
      <div class="code">{{card['code'][:5]}}&#8209;{{card['code'][5:]}}</div>
      <div class="pkg">{{card['package']}} · KES {{card['price']}}</div>
      <div class="valid">Valid {{card['validity']}}{{'' if card['data'] == 'unlimited' else ' · ' + card['data']}}</div>
      % if site.help_phone:
      <div class="help">Help: {{site.help_phone}}</div>
      % end
      <div class="how">Scan, or open the WiFi page and type the code</div>
    </div>
  </section>
% end
</main>
</body>
</html>

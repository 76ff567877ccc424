<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vouchers {{batch['batch']}} · {{site.name}}</title>
<link rel="stylesheet" href="/static/admin-print.css">
<script src="/static/admin-print.js" defer></script>
</head>
<body>
<div class="noprint toolbar">
  <button type="button" id="print">Print</button>
  <a href="/vouchers/{{batch['batch']}}">‹ back to the batch</a>
  <span>A4, 24 vouchers a page. In the print dialog choose A4 and no headers and footers.</span>
</div>
<header class="sheet-head">
  <strong>{{site.name}}</strong> · WiFi {{site.wifi}} · vouchers · batch {{batch['batch']}} · {{batch['package']}} ·
  KES {{batch['price']}} · printed {{printed}} ({{tz}}) · {{len(cards)}} unused
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
      <div class="wifi">WiFi: <strong>{{site.wifi}}</strong></div>
      <div class="code">{{card['printed']}}</div>
      <div class="pkg">{{card['package']}} · KES {{card['price']}}</div>
      <div class="valid">Valid {{card['validity']}}{{'' if card['data'] == 'unlimited' else ' · ' + card['data']}}</div>
      % if site.help_phone:
      <div class="help">Help: {{site.help_phone}}</div>
      % end
      <div class="how">Join the WiFi, then scan, or type the code on its page</div>
    </div>
  </section>
% end
</main>
</body>
</html>

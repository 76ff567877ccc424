<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
% if refresh:
<meta http-equiv="refresh" content="3">
% end
<title>{{text["title"]}}</title>
<link rel="stylesheet" href="/static/portal.css">
</head>
<body>
<main class="page" id="please-pay">
<h1>{{text["title"]}}</h1>
% if owing is None:
<p id="unknown">{{lines["unknown"]}}</p>
% else:
<p id="hello"><strong>{{lines["hello"]}}</strong></p>
<p id="state">{{lines["state"]}}</p>
<p id="offer"><strong>{{lines["offer"]}}</strong></p>
% if "balance" in lines:
<p id="balance">{{lines["balance"]}}</p>
% end
% if note:
<p class="notice" id="note" role="status">{{note}}</p>
% end
% if error:
<p class="error" id="error" role="alert">{{error}}</p>
% end
<form method="post" action="/please-pay" id="pay-form">
<label>{{text["phone"]}} <input name="phone" inputmode="tel" autocomplete="tel" maxlength="20"></label>
<button type="submit">{{text["pay"]}}</button>
</form>
<p id="paybill">{{lines["paybill"]}}</p>
% end
% if help_phone:
<p class="muted">{{text["help"].format(phone=help_phone)}}</p>
% end
</main>
</body>
</html>

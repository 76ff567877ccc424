<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · {{site}}</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/static/admin.css">
</head>
<body class="login">
<main class="login-box">
  <h1>{{site}}</h1>
  <p class="muted">Operator's console</p>
  % if error:
  <p class="error" role="alert" id="login-error">{{error}}</p>
  % end
  <form method="post" action="/login" id="login-form">
    <input type="hidden" name="next" value="{{next_path}}">
    <label for="username">Username</label>
    <input id="username" name="username" autocomplete="username" value="{{username}}" required autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Log in</button>
  </form>
</main>
</body>
</html>

<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hotspotd central: log in</title>
<link rel="icon" href="/favicon.ico">
<style>
body { font: 16px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
main { max-width: 22rem; margin: 10vh auto; background: #fff; padding: 1.5rem; border-radius: 8px; }
label { display: block; margin: .8rem 0 .2rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; }
.error { color: #b00020; }
</style>
</head>
<body>
<main>
  <h1>hotspotd central</h1>
  % if error:
  <p class="error" role="alert">{{error}}</p>
  % end
  <form method="post" action="/login">
    <label for="username">Name</label>
    <input id="username" name="username" autocomplete="username" required autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Log in</button>
  </form>
</main>
</body>
</html>

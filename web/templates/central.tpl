<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>hotspotd central</title>
<link rel="icon" href="/favicon.ico">
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { display: flex; justify-content: space-between; align-items: center; padding: .8rem 1.2rem; background: #1d2330; color: #fff; }
header form { margin: 0; }
main { padding: 1.2rem; overflow-x: auto; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { padding: .45rem .7rem; border-bottom: 1px solid #e2e4e9; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.late { color: #b00020; font-weight: 600; }
.totals { margin: 0 0 1rem; }
</style>
</head>
<body>
<header>
  <strong>hotspotd central</strong>
  <form method="post" action="/logout"><span>{{user}}</span> <button type="submit">Log out</button></form>
</header>
<main>
  <p class="totals">All sites: KES {{view['revenue_today']}} today, KES {{view['revenue_week']}} this week
    ({{view['timezone']}}; the page refreshes every 30 s).</p>
  % if not view['sites']:
  <p>No sites yet: register one with <code>hotspotd central site add NAME</code>.</p>
  % else:
  <table>
    <thead><tr><th>Site</th><th>Last seen</th><th>Sync lag</th><th>Waiting</th><th>Today (KES)</th>
      <th>This week (KES)</th><th>Sessions</th><th>Routers online</th><th>Config</th></tr></thead>
    <tbody>
    % for s in view['sites']:
      % lag, ago = s['sync_lag_s'], s['last_seen_ago_s']
      <tr>
        <td>{{s['name']}} <small>({{s['id']}})</small></td>
        <td title="{{s['last_seen'] or ''}}">{{'never' if ago is None else ('just now' if ago < 60 else (f'{ago // 60} min ago' if ago < 3600 else (f'{ago // 3600} h ago' if ago < 172800 else f'{ago // 86400} days ago')))}}</td>
        <td class="{{'late' if lag is None or lag > 3600 else ''}}">{{'—' if lag is None else (f'{lag // 3600} h {lag % 3600 // 60} min' if lag >= 3600 else f'{lag // 60} min {lag % 60} s')}}</td>
        <td>{{'—' if s['waiting'] is None else s['waiting']}}</td>
        <td>{{s['revenue_today']}} <small>({{s['payments_today']}})</small></td>
        <td>{{s['revenue_week']}} <small>({{s['payments_week']}})</small></td>
        <td>{{'—' if s['sessions_open'] is None else s['sessions_open']}}</td>
        <td>{{'—' if s['routers_total'] is None else f"{s['routers_online']} / {s['routers_total']}"}}</td>
        <td class="{{'late' if s['config_version'] < s['config_latest'] else ''}}">{{s['config_version']}} / {{s['config_latest']}}</td>
      </tr>
    % end
    </tbody>
  </table>
  % end
</main>
</body>
</html>

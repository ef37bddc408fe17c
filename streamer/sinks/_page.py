"""The preview's single page: the MJPEG stream and figures polled from /status."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>streamer preview</title>
<style>
body { margin: 0; background: #111; color: #eee; font: 14px sans-serif; }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 12px; }
img { max-width: 100%; background: #000; }
dl { display: grid; grid-template-columns: auto auto; gap: 4px 12px; margin: 0;
     align-content: start; }
dt { color: #9ab; } dd { margin: 0; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<main>
<img id="stream" src="/stream.mjpg" alt="annotated stream">
<dl>
<dt>source</dt><dd id="source">-</dd>
<dt>state</dt><dd id="source_state">-</dd>
<dt>fps</dt><dd id="fps">-</dd>
<dt>lag (s)</dt><dd id="lag_s">-</dd>
<dt>produced</dt><dd id="produced">-</dd>
<dt>ok</dt><dd id="ok">-</dd>
<dt>failed</dt><dd id="failed">-</dd>
<dt>dropped</dt><dd id="dropped">-</dd>
<dt>queue</dt><dd id="queue_depth">-</dd>
<dt>in flight</dt><dd id="in_flight">-</dd>
<dt>frame</dt><dd id="last_index">-</dd>
<dt>updated</dt><dd id="updated">never</dd>
</dl>
</main>
<script>
const fields = ["source", "source_state", "fps", "lag_s", "produced", "ok",
  "failed", "dropped", "queue_depth", "in_flight", "last_index"];
async function refresh() {
  try {
    const reply = await fetch("/status", {cache: "no-store"});
    const status = await reply.json();
    for (const name of fields) {
      document.getElementById(name).textContent = String(status[name] ?? "-");
    }
    document.getElementById("updated").textContent =
      new Date().toLocaleTimeString();
  } catch (err) {
    document.getElementById("source_state").textContent = "preview offline";
  }
}
refresh();
setInterval(refresh, 500);
</script>
</body>
</html>
"""

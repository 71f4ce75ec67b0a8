/// The HTML viewer's page: style, markup and script, around the embedded data. Everything is
/// inline; nothing is fetched. The colours are the SVG pictures' (`Palette`).
enum ViewerPage {
    /// The page before and after the data (`<script type="application/json" id="data">`).
    static func template(title: String) -> (String, String) {
        let before = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>\#(title) · proctrace viewer</title>
<style>
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px/1.35 "DejaVu Sans",system-ui,sans-serif;color:#212121;background:#fafafa}
body{display:flex;flex-direction:column}
#bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;padding:5px 8px;background:#263238;color:#eceff1}
#bar b{font-size:14px;margin-right:8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:30em}
#bar button,#bar select,#bar input{font:inherit;padding:2px 7px;border:1px solid #90a4ae;border-radius:3px;background:#eceff1;color:#212121}
#bar button:hover{background:#fff}
#bar input[type=search]{width:15em}
#bar label{white-space:nowrap}
#clock{font-family:"DejaVu Sans Mono",monospace;margin-left:auto;white-space:nowrap}
#warn{background:#ffebee;color:#b71c1c;padding:4px 8px;border-bottom:1px solid #ef9a9a;display:none;white-space:pre-wrap}
main{flex:1;display:flex;min-height:0}
#view{flex:1;position:relative;min-width:0;outline:none}
#cv{position:absolute;left:0;top:0;cursor:crosshair}
#tip{position:absolute;pointer-events:none;background:#fffde7;border:1px solid #bdbdbd;padding:3px 6px;font-size:12px;display:none;white-space:pre;
  z-index:3;box-shadow:0 1px 3px #0003}
aside{width:560px;max-width:45%;display:flex;flex-direction:column;border-left:1px solid #cfd8dc;background:#fff}
#detailsBox{max-height:45%;overflow:auto;padding:4px 10px;border-bottom:1px solid #cfd8dc}
#atBox{flex:1;overflow:auto;padding:0 10px 4px;min-height:120px}
#legendBox{padding:4px 10px;border-top:1px solid #cfd8dc;max-height:30%;overflow:auto}
aside h2{font-size:13px;margin:6px 0 4px;color:#37474f}
#at{border-collapse:collapse;font:12px/1.3 "DejaVu Sans Mono",monospace;width:100%}
#at td,#at th{padding:1px 5px;text-align:right;white-space:pre;vertical-align:top}
#at th{border-bottom:1px solid #b0bec5;position:sticky;top:0;background:#fff}
#at-title{margin:0;padding:6px 0 4px}
#at td.tree,#at th.tree,#at td.cmd,#at th.cmd,#at td.stat,#at th.stat{text-align:left}
#at td.cmd{max-width:22em;overflow:hidden;text-overflow:ellipsis}
#at tr[data-pid]:hover{background:#eceff1;cursor:pointer}
#at tr.sel{background:#fff3e0}
#details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
#details dt{color:#607d8b}
#details dd{margin:0;font-family:"DejaVu Sans Mono",monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}
#details table{border-collapse:collapse;font:12px "DejaVu Sans Mono",monospace}
#details td{padding:0 6px 0 0}
.sw{display:inline-block;width:11px;height:11px;border:1px solid #0004;vertical-align:-1px;margin-right:4px}
#legend span{display:inline-block;margin:0 10px 3px 0;white-space:nowrap}
#help{color:#607d8b;font-size:12px}
</style>
</head>
<body>
<div id="bar">
<b id="ttl">\#(title)</b>
<button id="fit" title="Fit the whole trace (f)">Fit</button>
<button id="zin" title="Zoom in (w, wheel)">+</button>
<button id="zout" title="Zoom out (s, wheel)">−</button>
<button id="play" title="Play from the cursor (space)">▶ Play</button>
<select id="speed" title="Replay speed"><option value="0.01">0.01×</option><option value="0.1">0.1×</option><option value="1" selected>1×</option>
  <option value="10">10×</option><option value="100">100×</option></select>
<select id="model" title="State model"><option value="five">five-state</option><option value="three">three-state</option></select>
<input id="q" type="search" placeholder="search: pid or command text  (/)">
<select id="flt" title="Show only processes that…"><option value="">all processes</option><option value="zombie">were zombies</option>
  <option value="wait">waited for a child</option><option value="blocked">were blocked</option><option value="traced">
  were stopped by the tracer</option><option value="stopped">were job-control stopped</option><option value="unknown">have unknown state</option>
  <option value="killed">were killed</option><option value="nonzero">exited non-zero</option><option value="orphan">were orphaned</option>
  <option value="alive">were alive at the end</option><option value="critical">are on the critical path</option></select>
<label title="Highlight the critical path (c)"><input id="crit" type="checkbox"> critical path</label>
<span id="clock"></span>
</div>
<div id="warn"></div>
<main>
<div id="view" tabindex="0"><canvas id="cv"></canvas><div id="tip"></div></div>
<aside>
<div id="detailsBox"><h2>Details</h2>
<div id="details"><p id="help">Click a lane or a row to see a process.</p></div></div>
<div id="atBox"><h2 id="at-title">At</h2>
<div id="at-note"></div>
<table id="at"><thead><tr><th class="tree">PROCESS</th><th>PPID</th><th>PID</th><th>PGID</th><th>SID</th><th class="stat">STAT</th><th>TIME</th>
  <th class="cmd">COMMAND</th></tr></thead><tbody></tbody></table></div>
<div id="legendBox"><div id="legend"></div>
<p id="help">Click or drag on the time axis: cursor. Drag on the lanes: zoom to a range; shift-drag: pan.
Wheel on the lanes: zoom; wheel on the tree: scroll. Keys: w/s zoom, a/d or ←/→ pan, f fit, ↑/↓ select,
space play, / search, c critical path, Esc clear. The URL keeps #t=…&amp;pid=…&amp;from=…&amp;to=….</p></div>
</aside>
</main>
<script type="application/json" id="data">
"""#
        let after = "</script>\n<script>\n" + script + "\n</script>\n</body>\n</html>"
        return (before, after)
    }
}

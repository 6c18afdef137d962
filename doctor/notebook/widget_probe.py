"""``%doctor widgets``: the only way to know from inside a kernel that widgets render in *this* front end.

A tiny anywidget whose JavaScript ``render`` sends a message back when the front end has really drawn it.
The kernel is never blocked: the cell ends at once, the kernel handles the widget's message while idle, and
a watcher thread updates the output in place with "rendered" or with the diagnosis and the fix. (A task on
the cell's event loop does not outlive the cell in ipykernel 7: measured.)
"""

import threading
from html import escape
from typing import Iterable

from doctor.findings import ERROR, WARNING, Finding

RENDERED_TEXT = "dl-doctor: widgets render in this front end"
NOT_RENDERED_TEXT = "dl-doctor: the widget did not render"
ESM = """
function render({ model, el }) {
  el.textContent = "dl-doctor widget probe: drawn";
  model.send({ rendered: true, user_agent: navigator.userAgent });
}
export default { render };
"""


def _diagnosis(timeout_s: float, findings: Iterable[Finding]) -> str:
    problems = [f for f in findings if f.status in (ERROR, WARNING)]
    lines = ["<b>%s within %g s.</b>" % (escape(NOT_RENDERED_TEXT), timeout_s)]
    if problems:
        for finding in problems:
            lines.append("<div><code>%s</code>: %s</div>" % (escape(finding.id), escape(finding.title)))
            if finding.fix:
                lines.append("<div>fix: %s</div>" % escape(finding.fix.text))
                lines += ["<pre>%s</pre>" % escape(command) for command in finding.fix.commands]
    else:
        lines.append("<div>The kernel's packages agree; the front end did not load or draw the widget. Reload the "
                     "page; in VS Code or Colab, update the Jupyter extension; otherwise install the same "
                     "ipywidgets major (and anywidget) in the environment that runs the Jupyter server, restart "
                     "it and reload.</div>")
    return "".join(lines)


def show_widget_probe(timeout_s: float, widget_findings: Iterable[Finding]) -> None:
    import anywidget
    from IPython.display import HTML, display

    class RenderProbe(anywidget.AnyWidget):
        _esm = ESM

    probe = RenderProbe()
    state = {"user_agent": None}
    answered = threading.Event()

    def on_message(widget, content, buffers):
        if isinstance(content, dict) and content.get("rendered"):
            state["user_agent"] = content.get("user_agent") or "unknown"
            answered.set()

    probe.on_msg(on_message)
    verdict = display(HTML("<i>dl-doctor: waiting up to %g s for the widget to render…</i>" % timeout_s),
                      display_id=True)
    display(probe)
    findings = list(widget_findings)

    def report_when_known() -> None:
        answered.wait(timeout_s)
        if state["user_agent"] is not None:
            verdict.update(HTML("<b>%s</b> (%s)" % (escape(RENDERED_TEXT), escape(state["user_agent"]))))
        else:
            verdict.update(HTML(_diagnosis(timeout_s, findings)))

    threading.Thread(target=report_when_known, name="dl-doctor-widget-probe", daemon=True).start()

"""Runs `appsrc ! <element> ! appsink` over a list of buffers and prints what
came out, buffer by buffer, as JSON. The compat tests start it as a separate
process so that it can load either this project's aesenc/aesdec or
gst-plugins-bad's (the names clash within one process).

stdin:  {"element": "aesenc", "props": {...}, "chunks": ["<hex>", ...],
         "caps": "video/x-raw,..." (optional), "runs": 1,
         "late_props": {...} (optional: set after the pipeline started,
         before the first buffer)}
stdout: {"runs": [{"chunks": [...], "error": null | "message",
          "caps": "..."}], "plugin": "aesstream", "version": "..."}
or, to run several requests in one process (each with a pipeline of its
own): stdin {"jobs": [request, ...]}, stdout {"results": [answer, ...]}.
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def run_once(pipeline, src, sink, chunks, el=None, late_props=None):
    out = []
    result = {"chunks": out, "error": None, "caps": None}

    def on_sample(appsink):
        sample = appsink.emit("pull-sample")
        buf = sample.get_buffer()
        out.append(buf.extract_dup(0, buf.get_size()).hex())
        if sample.get_caps() is not None:
            result["caps"] = sample.get_caps().to_string()
        return Gst.FlowReturn.OK

    handler = sink.connect("new-sample", on_sample)
    bus = pipeline.get_bus()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        result["error"] = msg.parse_error()[0].message if msg else "state change failed"
    else:
        for k, v in (late_props or {}).items():
            Gst.util_set_object_arg(el, k, str(v))
        for c in chunks:
            if src.emit("push-buffer", Gst.Buffer.new_wrapped(bytes.fromhex(c))) \
                    != Gst.FlowReturn.OK:
                break
        src.emit("end-of-stream")
        msg = bus.timed_pop_filtered(60 * Gst.SECOND,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            result["error"] = "timeout"
        elif msg.type == Gst.MessageType.ERROR:
            result["error"] = msg.parse_error()[0].message
    pipeline.set_state(Gst.State.NULL)
    sink.disconnect(handler)
    return result


def run_request(req):
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=bytes ! {req['element']} name=el ! "
        "appsink name=sink sync=false emit-signals=true")
    el = pipeline.get_by_name("el")
    for k, v in req.get("props", {}).items():
        Gst.util_set_object_arg(el, k, str(v))
    src, sink = pipeline.get_by_name("src"), pipeline.get_by_name("sink")
    if req.get("caps"):
        src.set_property("caps", Gst.Caps.from_string(req["caps"]))
    plugin = el.get_factory().get_plugin()
    runs = [run_once(pipeline, src, sink, req["chunks"], el, req.get("late_props"))
            for _ in range(req.get("runs", 1))]
    return {"runs": runs, "plugin": plugin.get_name(),
            "version": plugin.get_version()}


def main():
    req = json.load(sys.stdin)
    Gst.init(None)
    if "jobs" in req:
        json.dump({"results": [run_request(r) for r in req["jobs"]]}, sys.stdout)
    else:
        json.dump(run_request(req), sys.stdout)


if __name__ == "__main__":
    main()

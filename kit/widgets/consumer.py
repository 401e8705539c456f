"""The Consumer panel: send good and bad messages to the kit's SafeConsumer, count verdicts."""

import collections
import json
import pickle

import ipywidgets as w

from kit.events.contract import CONSUMER
from kit.steps import SafeConsumer, custom_queue
from kit.widgets.panel import Panel, clock, escape

#: Sent by "Malformed JSON" when the text area holds valid JSON.
BROKEN_JSON = '{"broken": '
PICKLE = "application/x-python-serialize"


class ConsumerPanel(Panel):
    """JSON typed in a text area, malformed JSON, pickle, plain text, and what the consumer did."""

    title = "Consumer"
    types = (CONSUMER,)

    def __init__(self, dash, keep=100):
        super().__init__(dash)
        self.counts = collections.Counter()
        self.log = collections.deque(maxlen=keep)
        self.text = w.Textarea(
            value='{"hello": "world", "n": 1}', rows=4, layout=w.Layout(width="420px")
        )
        self.json_button = self.button(
            "Publish JSON", self.publish_json, icon="paper-plane", style="success", action="publish"
        )
        self.malformed_button = self.button(
            "Malformed JSON",
            self.publish_malformed,
            icon="chain-broken",
            tooltip="the text as application/json, unchecked",
            action="publish",
        )
        self.pickle_button = self.button(
            "Pickle",
            self.publish_pickle,
            icon="archive",
            tooltip="content type application/x-python-serialize: not accepted",
            action="publish",
        )
        self.plain_button = self.button(
            "Plain text", self.publish_plain, icon="font", tooltip="text/plain", action="publish"
        )
        self.counters = w.HTML()
        self.log_html = w.HTML(layout=w.Layout(max_height="220px", overflow="auto"))
        self.refresh()
        self.widget = w.VBox(
            [
                w.HTML(
                    f"<b>Publish to queue <code>{escape(custom_queue.name)}</code></b>, "
                    "consumed by the kit's SafeConsumer (tick <i>consumer</i> in Steps). "
                    "Bad messages are rejected and counted; it stays up."
                ),
                w.HBox(
                    [
                        self.text,
                        w.VBox(
                            [
                                self.json_button,
                                self.malformed_button,
                                self.pickle_button,
                                self.plain_button,
                            ]
                        ),
                    ]
                ),
                self.status,
                self.counters,
                self.log_html,
            ]
        )

    def _publish(self, body, content_type=None, what="JSON"):
        self.cluster.publish(body, content_type=content_type)
        hint = (
            ""
            if self.app is None or SafeConsumer in self.app.steps["consumer"]
            else (
                " — ⚠ SafeConsumer is not in app.steps['consumer']: tick <i>consumer</i> in Steps and Apply, "
                "or the message waits in the queue"
            )
        )
        self.say(f"→ published {escape(what)}{hint}", ok=not hint)

    def publish_json(self):
        """Publish the text area's JSON (ValueError if it is not JSON)."""
        try:
            body = json.loads(self.text.value)
        except ValueError as exc:
            raise ValueError(
                f"the text is not valid JSON ({exc}); press 'Malformed JSON' to send it anyway"
            ) from None
        self._publish(body)

    def publish_malformed(self):
        """Publish a body labelled JSON that does not parse.

        The text if it is not JSON, else a sample.
        """
        text = self.text.value
        try:
            json.loads(text)
            text = BROKEN_JSON
        except ValueError:
            pass
        self._publish(text, content_type="application/json", what=f"malformed JSON {text!r}")

    def publish_pickle(self):
        """Publish the value pickled: a content type the consumer does not accept."""
        try:
            body = json.loads(self.text.value)
        except ValueError:
            body = self.text.value
        self._publish(pickle.dumps(body), content_type=PICKLE, what="a pickle")

    def publish_plain(self):
        """Publish the text as text/plain."""
        self._publish(self.text.value, content_type="text/plain", what="plain text")

    # -- live part ------------------------------------------------------------------------------
    def reset(self):
        """Forget the verdicts (a replay going back in time hands them out again)."""
        self.counts.clear()
        self.log.clear()

    def on_event(self, event):
        outcome = event.get("outcome", "?")
        self.counts[outcome] += 1
        detail = (
            event.get("body")
            if outcome == "accepted"
            else f"{event.get('content_type')}: {event.get('reason')}"
        )
        self.log.append((event.get("timestamp", 0), event.get("hostname", "?"), outcome, detail))
        return True

    def refresh(self):
        self.counters.value = (
            f"<span style='font-size:15px'><span style='color:#2e7d32'>✓</span> accepted "
            f"<b>{self.counts['accepted']}</b> · "
            f"<span style='color:#c62828'>✗</span> rejected <b>{self.counts['rejected']}</b></span>"
        )
        # a copy: the feed thread appends
        rows = "".join(
            f"<tr><td>{clock(t)}</td><td>{escape(host)}</td><td>{'✓' if o == 'accepted' else '✗'} "
            f"{escape(o)}</td><td><code>{escape(str(detail)[:160])}</code></td></tr>"
            for t, host, o, detail in reversed(list(self.log))
        )
        self.log_html.value = (
            f"<table style='font-size:12px'>{rows}</table>"
            if rows
            else "<i>no messages consumed yet</i>"
        )

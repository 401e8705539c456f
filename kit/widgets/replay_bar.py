"""A replay's controls: play/pause, speed and a position slider (what `kit.replay(path)` shows)."""

import html
import threading

import ipywidgets as w

#: The speeds offered; inf plays as fast as the views take it.
SPEEDS = {"1x": 1.0, "10x": 10.0, "as fast as possible": float("inf")}


class ReplayBar:
    """Play, pause, speed (1x, 10x, as fast as possible) and a slider over the recording.

    The slider follows the replay while it plays; moving it by hand seeks (paused there).
    """

    def __init__(self, replay, every=0.25):
        self.replay = replay
        self.title = w.HTML(f"<b>{html.escape(replay.describe())}</b>")
        self.play_button = w.ToggleButton(
            value=False, description="Play", icon="play", tooltip="play / pause the recording"
        )
        self.speed = w.Dropdown(options=list(SPEEDS), value="1x", layout=w.Layout(width="190px"))
        self.slider = w.FloatSlider(
            min=0.0, max=max(replay.duration, 0.1), step=0.1, description="at (s)",
            readout_format=".1f", continuous_update=False, layout=w.Layout(width="520px"),
        )  # fmt: skip
        # the bar itself moves the slider: not a seek
        self._moving = False
        self.play_button.observe(self._toggled, names="value")
        self.speed.observe(self._sped, names="value")
        self.slider.observe(self._slid, names="value")
        self.widget = w.VBox([self.title, w.HBox([self.play_button, self.speed, self.slider])])
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._follow, name="kit-replay-bar", daemon=True)
        self._thread.start()

    def _toggled(self, change):
        if change["new"]:
            if self.replay.finished:
                self.replay.seek(0.0)
            self.replay.play(SPEEDS[self.speed.value])
        else:
            self.replay.pause()
        self.play_button.description = "Pause" if change["new"] else "Play"
        self.play_button.icon = "pause" if change["new"] else "play"

    def _sped(self, change):
        if not self.replay.paused:
            self.replay.play(SPEEDS[change["new"]])
        else:
            self.replay.speed = SPEEDS[change["new"]]

    def _slid(self, change):
        if not self._moving:
            self.play_button.value = False
            self.replay.seek(change["new"])

    def sync(self):
        """Put the slider and the button where the replay stands."""
        self._moving = True
        try:
            self.slider.value = round(self.replay.position, 1)
            if self.replay.paused and self.play_button.value:
                self.play_button.value = False
        finally:
            self._moving = False

    def _follow(self):
        while not self._stop.wait(self._every) and not self.replay.closed:
            if not self.replay.paused or self.play_button.value:
                self.sync()

    def close(self):
        """Stop following the replay."""
        self._stop.set()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

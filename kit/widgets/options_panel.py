"""The Options panel: the app's command-line options as a form; Apply restarts workers with them."""

import collections

import click
import ipywidgets as w

from kit.events.contract import OPTION
from kit.roster import live_workers, plural
from kit.steps import KIT_OPTIONS
from kit.widgets.panel import Panel, escape


def worker_options(app):
    """The options every kit worker accepts: the app's `user_options['worker']`, then the kit's."""
    found = {}
    # a replay has no app
    mine = app.user_options["worker"] if app is not None else ()
    for option in [*sorted(mine, key=lambda o: o.name or ""), *KIT_OPTIONS]:
        found.setdefault(option.name, option)
    return found


class OptionsPanel(Panel):
    """A field per worker option (a checkbox for flags); what the steps received shows below."""

    title = "Options"
    types = (OPTION,)

    def __init__(self, dash):
        super().__init__(dash)
        self.received = collections.OrderedDict()
        self.form = w.VBox()
        self.apply_button = self.button(
            "Apply (rolling restart)", self.apply, icon="refresh", style="primary", action="restart"
        )
        self.reload_button = self.button(
            "Reload options",
            self.reload,
            icon="search",
            tooltip="Pick up options added to app.user_options['worker'] since",
        )
        self.received_html = w.HTML()
        self.reload()
        self.refresh()
        self.widget = w.VBox(
            [
                w.HTML(
                    "<b>Worker options</b> (<code>app.user_options['worker']</code> and the kit's): "
                    "every step receives each one as a keyword argument."
                ),
                self.form,
                w.HBox([self.apply_button, self.reload_button]),
                self.status,
                self.received_html,
            ]
        )

    def reload(self):
        """Build a field per option the app and the kit define, filled from the cluster's."""
        self.options = worker_options(self.app)
        current = self.cluster.worker_options
        self.fields = {
            name: self._field(option, current.get(name)) for name, option in self.options.items()
        }
        self.form.children = [
            w.HBox([field, w.HTML(f"<small>{escape(option.help or '')}</small>")])
            for field, option in zip(self.fields.values(), self.options.values(), strict=True)
        ]

    @staticmethod
    def _field(option, value):
        label, style = f"--{option.name.replace('_', '-')}", {"description_width": "170px"}
        if option.is_flag:
            return w.Checkbox(value=bool(value), description=label, style=style, indent=False)
        hint = f"{option.type.name}" + (
            f", default {option.default}" if option.default is not None else ""
        )
        return w.Text(
            value="" if value is None else str(value),
            description=label,
            placeholder=hint,
            style=style,
            layout=w.Layout(width="420px"),
        )

    def values(self):
        """{option name: value} from the form, empty fields left out.

        Raises ValueError naming a bad field.
        """
        out = {}
        for name, field in self.fields.items():
            option = self.options[name]
            if option.is_flag:
                if field.value:
                    out[name] = True
            elif field.value.strip():
                try:
                    out[name] = option.type.convert(field.value.strip(), option, None)
                except click.BadParameter as exc:
                    raise ValueError(
                        f"--{name.replace('_', '-')}={field.value!r}: {exc.message}"
                    ) from None
        return out

    def apply(self):
        """Restart the workers with the form's options; the cluster's others (`pool`...) stay."""
        current = self.cluster.worker_options
        kept = {k: v for k, v in current.items() if k.replace("-", "_") not in self.fields}
        options = {**kept, **self.values()}
        self.say(f"restarting {plural(len(self.cluster.workers), 'worker')}…")
        self.cluster.restart(worker_options=options)
        flags = " ".join(
            f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in options.items()
        )
        self.say(f"✔ workers restarted with <code>{escape(flags or '(no options)')}</code>")
        self.dash.after_restart(self)

    # -- live part ------------------------------------------------------------------------------
    def reset(self):
        """Forget what the steps received (a replay going back hands it out again)."""
        self.received.clear()

    def on_event(self, event):
        self.received[(event.get("hostname"), event.get("name"))] = event.get("value")
        while len(self.received) > 50:
            self.received.popitem(last=False)
        return True

    def refresh(self):
        live = set(live_workers(self.cluster))
        rows = "".join(
            f"<li>{escape(host)}: <code>{escape(name)}={escape(repr(value))}</code></li>"
            for (host, name), value in list(self.received.items())
            if host in live
        )
        self.received_html.value = (
            f"<b>Received by the steps</b> (kit-option events)<ul>{rows}</ul>" if rows else ""
        )

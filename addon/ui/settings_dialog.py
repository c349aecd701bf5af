"""The settings window: pick a provider or a server found on this computer, a model from its list, test the
connection, and set the rest with plain labels and limits. It reads and writes config.json through
config.py, so hand edits and the window agree.

Everything that waits on the network runs in Anki's background threads (without the collection); a result
that arrives after the window closed, or after a newer request, is dropped. The key is shown only on
request and never put in a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import aqt
from aqt.main import AnkiQt
from aqt.qt import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
    qconnect,
)
from aqt.utils import disable_help_button, restoreGeom, saveGeom, tooltip

from .. import config
from ..config import SettingsError
from ..loader import load_module
from ..pipeline.llm.presets import CUSTOM, PRESETS, Preset, preset_for
from . import SETTINGS_DIALOG, config_events
from .background import in_background
from .local_servers import LocalServersRow
from .settings_form import SettingsForm, add_row, choice_box, new_form, set_choice

if TYPE_CHECKING:
    from ..pipeline.llm.connection import Verdict
    from ..pipeline.llm.servers import LocalServer

T = TypeVar("T")
GEOMETRY_KEY = "aicg_settings"
MODEL_LIST_DELAY_MS = 700
"""Typing pauses this long before the model list is asked for again."""
MODEL_LIST_TIMEOUT = 10.0

CONNECTION_KEYS = (*config.ENDPOINT_KEYS, "structured_output")
"""The Connection tab's keys, which Restore Defaults leaves alone."""

State = Literal["loading", "ready", "failed"]


class SettingsDialog(QDialog):
    def __init__(self, main_window: AnkiQt) -> None:
        super().__init__(main_window)
        self.mw = main_window
        self.setObjectName("aicg_settings_dialog")
        self.setWindowTitle("AI Card Generator Settings")
        self.state: State = "loading"
        self.testing = False
        self._closed = False
        self._refused = False  # the status line says why a value was refused
        self._model_requests = 0
        self._model_timer = QTimer(self)
        self._model_timer.setSingleShot(True)
        qconnect(self._model_timer.timeout, self._list_models)
        self._build_ui()
        disable_help_button(self)
        main_window.garbage_collect_on_dialog_finish(self)
        restoreGeom(self, GEOMETRY_KEY, default_size=(640, 620))
        self._set_status("Loading…")
        self._update_buttons()
        self._in_background(
            lambda: load_module(".pipeline.llm.servers"), self._on_loaded, self._on_load_failed
        )

    # building

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.form = SettingsForm()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._connection_tab(), "Connection")
        self.tabs.addTab(self.form.cards_tab, "Cards")
        self.tabs.addTab(self.form.limits_tab, "Limits and cost")
        layout.addWidget(self.tabs)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # it shows what servers say
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        save = buttons.button(QDialogButtonBox.StandardButton.Save)
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        assert save is not None and restore is not None
        self.save_button, self.restore_button = save, restore
        for button in buttons.buttons():
            if isinstance(button, QPushButton):
                button.setAutoDefault(button is save)  # Enter saves, wherever the focus is
        save.setDefault(True)
        qconnect(buttons.accepted, self._on_save)
        qconnect(buttons.rejected, self.reject)
        self.restore_button.setToolTip("Every setting but the connection (provider, address, key, model).")
        qconnect(self.restore_button.clicked, self._on_restore_defaults)
        layout.addWidget(buttons)

    def _connection_tab(self) -> QWidget:
        tab = QWidget()
        form = new_form(tab)
        self.provider = QComboBox()
        for preset in PRESETS:
            self.provider.addItem(preset.name, preset)
        self.provider.addItem(CUSTOM, None)
        qconnect(self.provider.activated, self._on_provider_chosen)
        form.addRow("Provider:", self.provider)

        self.local = LocalServersRow(self.mw, wanted=lambda: not self._closed)
        qconnect(self.local.chosen, self._use_server)
        form.addRow("On this computer:", self.local)

        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("e.g. http://localhost:11434/v1")
        qconnect(self.base_url.textEdited, self._on_base_url_edited)
        add_row(form, "base_url", self.base_url)

        key_row = QWidget()
        key_layout = QHBoxLayout(key_row)
        key_layout.setContentsMargins(0, 0, 0, 0)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("none: read from the variable below")
        qconnect(self.api_key.textEdited, self._on_key_edited)
        self.show_key_button = QPushButton("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAutoDefault(False)
        qconnect(self.show_key_button.toggled, self._on_show_key)
        key_layout.addWidget(self.api_key, stretch=1)
        key_layout.addWidget(self.show_key_button)
        add_row(
            form, "api_key", key_row, "Kept in Anki's add-on config only; never shown in messages or logs."
        )

        self.api_key_env = QLineEdit()
        self.api_key_env.setPlaceholderText("none")
        qconnect(self.api_key_env.textEdited, self._on_key_edited)
        self.env_hint = add_row(form, "api_key_env", self.api_key_env)

        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        if (line := self.model.lineEdit()) is not None:
            line.setPlaceholderText("e.g. gpt-4o-mini, llama3.1")
        if (completer := self.model.completer()) is not None:
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.model_hint = add_row(form, "model", self.model)

        self.structured_output = choice_box("structured_output")
        hint = "Test connection picks the one your server honours."
        add_row(form, "structured_output", self.structured_output, hint, compact=True)

        test = QWidget()
        column = QVBoxLayout(test)
        column.setContentsMargins(0, 6, 0, 0)
        button_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.setAutoDefault(False)
        qconnect(self.test_button.clicked, self._on_test)
        button_row.addWidget(self.test_button)
        button_row.addStretch()
        column.addLayout(button_row)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)  # it quotes what servers say
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.verdict_label)
        form.addRow("", test)
        return tab

    # values

    def values(self) -> dict[str, Any]:
        """The window's settings as config.json keys."""
        return {
            "base_url": self.base_url.text().strip(),
            "api_key": self.api_key.text().strip(),
            "api_key_env": self.api_key_env.text().strip(),
            "model": self.model.currentText().strip(),
            "structured_output": self.structured_output.currentData(),
            **self.form.values(),
        }

    def _show(self, values: Mapping[str, Any]) -> None:
        base_url = str(values.get("base_url") or "")
        self._select_provider(preset_for(base_url))
        self.base_url.setText(base_url)
        self.api_key.setText(str(values.get("api_key") or ""))
        self.api_key_env.setText(str(values.get("api_key_env") or ""))
        self.model.setEditText(str(values.get("model") or ""))
        set_choice(self.structured_output, values.get("structured_output"))
        self.form.set_values(values)
        self._update_env_hint()

    def widget_for(self, key: str) -> QWidget | None:
        connection: dict[str, QWidget] = {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "api_key_env": self.api_key_env,
            "model": self.model,
            "structured_output": self.structured_output,
        }
        return connection.get(key) or self.form.widget_for(key)

    # loading

    def _on_loaded(self, _servers: object) -> None:
        self.state = "ready"
        self.form.apply_limits(config.limits())
        checked = config.check_config(config.read_config(self.mw))
        self._show(checked.values)
        problems = [str(checked.error)] if checked.error else []
        problems += checked.problems
        self._set_status(" ".join(problems))
        self._update_buttons()
        self.provider.setFocus()
        self.local.look()
        self._list_models()

    def _on_load_failed(self, error: Exception) -> None:
        self.state = "failed"
        self._set_status(f"The settings can't load: {error}")
        self._update_buttons()

    # providers and local servers

    def _on_provider_chosen(self, index: int) -> None:
        preset: Preset | None = self.provider.itemData(index)
        if preset is None:  # Custom: the fields stay as they are
            return
        running = self.local.running(preset)
        if running is not None:
            self._use_server(running)
            return
        self._set_endpoint(preset.base_url, preset.api_key_env)
        self._list_models()

    def _use_server(self, server: LocalServer) -> None:
        self._select_provider(server.preset)
        self._set_endpoint(server.base_url, server.preset.api_key_env)
        self._model_timer.stop()
        self._model_requests += 1  # a list asked for earlier is out of date
        self._fill_models(server.models)
        if server.models and self.model.currentText() not in server.models:
            self.model.setEditText(server.models[0])
        self.verdict_label.setText(f"Using {server.describe()}. Pick a model, then Test connection.")

    def _select_provider(self, preset: Preset | None) -> None:
        self.provider.setCurrentText(preset.name if preset else CUSTOM)

    def _set_endpoint(self, base_url: str, api_key_env: str) -> None:
        """A provider's address and key variable. A key typed for another host is cleared: it belongs to
        the provider that issued it."""
        if self.api_key.text() and preset_for(base_url) != preset_for(self.base_url.text()):
            self.api_key.clear()
            tooltip("The key field was cleared: a key belongs to the provider that issued it.", parent=self)
        self.base_url.setText(base_url)
        self.api_key_env.setText(api_key_env)
        self._update_env_hint()

    # endpoint edits and the model list

    def _on_base_url_edited(self, text: str) -> None:
        self._select_provider(preset_for(text))
        self._model_timer.start(MODEL_LIST_DELAY_MS)

    def _on_key_edited(self, _text: str) -> None:
        self._update_env_hint()
        self._model_timer.start(MODEL_LIST_DELAY_MS)

    def _on_show_key(self, shown: bool) -> None:
        self.api_key.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key_button.setText("Hide" if shown else "Show")

    def _update_env_hint(self) -> None:
        name = self.api_key_env.text().strip()
        if self.api_key.text().strip():
            text = "Not used: the key field above is filled in."
        elif not name:
            text = "With neither a key nor a variable, requests go without a key (fine for local servers)."
        elif config.api_key_of({"api_key_env": name}):
            text = f"{name} is set in Anki's environment: its key is used."
        else:
            text = f"{name} is not set in Anki's environment (set it, then restart Anki), or paste the key."
        self.env_hint.setText(text)

    def _list_models(self) -> None:
        self._model_timer.stop()
        self._model_requests += 1
        request = self._model_requests
        base_url, key = self.base_url.text().strip(), config.api_key_of(self.values())
        self.model_hint.setText("Asking the server for its models…")

        def listed(models: list[str]) -> None:
            if request == self._model_requests:
                self._fill_models(models)

        def not_listed(error: Exception) -> None:
            if request == self._model_requests:
                self._fill_models([])
                self.model_hint.setText(f"No model list, so type the name. {error}")

        def fetch() -> list[str]:
            from ..pipeline.llm.servers import list_models

            return list_models(base_url, key, timeout=MODEL_LIST_TIMEOUT)

        self._in_background(fetch, listed, not_listed)

    def _fill_models(self, models: Sequence[str]) -> None:
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(list(models))
        self.model.setEditText(current)
        count = len(models)
        self.model_hint.setText(
            f"The server lists {count} model{'' if count == 1 else 's'}; type to filter."
            if count
            else "The server lists no models; type the name."
        )

    # testing

    def _on_test(self) -> None:
        try:
            settings = config.settings_from(self.values())
        except SettingsError as error:
            self._refuse(error)
            return
        if self._refused:
            self._set_status("")
        asked = (settings.llm.base_url, settings.llm.model)
        self.testing = True
        self.verdict_label.setText(f"Testing {settings.llm.model}…")
        self._update_buttons()

        def show_verdict(verdict: Verdict) -> None:
            self.testing = False
            self.verdict_label.setText(verdict.message)
            if verdict.models:
                self._fill_models(verdict.models)
            now = (self.base_url.text().strip(), self.model.currentText().strip())
            if verdict.structured_output is not None and now == asked:
                set_choice(self.structured_output, verdict.structured_output)
            self._update_buttons()

        def not_tested(error: Exception) -> None:
            self.testing = False
            self.verdict_label.setText(f"The test could not run: {error}")
            self._update_buttons()

        def test() -> Verdict:
            from ..pipeline.llm.connection import check_connection  # llama-index: never on the main thread

            return check_connection(settings.llm)

        self._in_background(test, show_verdict, not_tested)

    # saving

    def _on_save(self) -> None:
        try:
            config.write_config(self.mw, self.values())
        except SettingsError as error:
            self._refuse(error)
            return
        config_events().saved.emit()
        tooltip("Settings saved.", parent=self.mw)
        self.accept()

    def _on_restore_defaults(self) -> None:
        """Every setting but the connection, which is the learner's own work (and holds the key)."""
        connection = {key: value for key, value in self.values().items() if key in CONNECTION_KEYS}
        self._show(config.defaults() | connection)
        self._set_status("Defaults restored, but for the connection. Save keeps them; Cancel drops them.")

    def _refuse(self, error: SettingsError) -> None:
        """Say what is wrong, and put the cursor where it can be fixed."""
        self._set_status(str(error))
        self._refused = True
        widget = self.widget_for(error.key or "")
        if widget is None:
            return
        for index in range(self.tabs.count()):
            tab = self.tabs.widget(index)
            if tab is not None and tab.isAncestorOf(widget):
                self.tabs.setCurrentIndex(index)
        widget.setFocus()

    # plumbing

    def status_text(self) -> str:
        return self.status_label.text()

    def verdict_text(self) -> str:
        return self.verdict_label.text()

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self._refused = False

    def _update_buttons(self) -> None:
        ready = self.state == "ready"
        self.tabs.setEnabled(ready)
        self.save_button.setEnabled(ready)
        self.restore_button.setEnabled(ready)
        self.test_button.setEnabled(ready and not self.testing)
        self.test_button.setText("Testing…" if self.testing else "Test connection")

    def _in_background(
        self, task: Callable[[], T], on_result: Callable[[T], None], on_error: Callable[[Exception], None]
    ) -> None:
        in_background(self.mw, task, on_result, on_error, wanted=lambda: not self._closed)

    def done(self, result: int) -> None:
        """Every way of closing ends here (Save, Cancel, Escape, the profile closing)."""
        self._closed = True
        self._model_timer.stop()
        saveGeom(self, GEOMETRY_KEY)
        aqt.dialogs.markClosed(SETTINGS_DIALOG)
        super().done(result)

    def closeWithCallback(self, callback: Callable[[], None]) -> None:
        """Called by Anki's dialog manager when the profile closes: unsaved changes are dropped."""
        self.reject()
        callback()

    def reopen(self, _main_window: AnkiQt) -> None:
        """Opening it again brings this window to the front (the dialog manager does that)."""

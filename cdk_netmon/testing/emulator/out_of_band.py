"""What tests break behind the handler's back: a monitor or probe in ERROR, and changes made out
of band (in the console, by another tool), each at once. Kept apart from the backend, whose
methods are only the API's operations and their bookkeeping."""

from __future__ import annotations

from .backend import NetworkMonitorBackend


class OutOfBand:
    """Changes to one account and region of the emulated service that no API call of the handler made."""

    def __init__(self, backend: NetworkMonitorBackend) -> None:
        self.backend = backend

    def force_error(self, monitor_name: str, probe_id: str | None = None) -> None:
        """Put a monitor, or one of its probes, in ERROR, as the service does when it fails."""
        monitor = self.backend.monitors[monitor_name]
        if probe_id is None:
            monitor.error = True
        else:
            monitor.probes[probe_id].error = True

    def force_error_on_probes_to(self, destination: str) -> None:
        """Probes created from now on to `destination` come up in ERROR, as a failing probe would."""
        self.backend.error_destinations.add(destination)

    def drift_delete_probe(self, monitor_name: str, probe_id: str) -> None:
        """A probe deleted out of band, at once."""
        monitor = self.backend.monitors[monitor_name]
        self.backend.forget(monitor, monitor.probes[probe_id], self.backend.clock.now())

    def drift_delete_monitor(self, monitor_name: str) -> None:
        """A monitor deleted out of band, at once, with its probes."""
        monitor = self.backend.monitors[monitor_name]
        for probe in list(monitor.probes.values()):
            self.backend.forget(monitor, probe, self.backend.clock.now())
        del self.backend.monitors[monitor_name]

    def drift_pause_probe(self, monitor_name: str, probe_id: str) -> None:
        """A probe paused out of band (UpdateProbe state=INACTIVE by someone else), at once."""
        self.backend.monitors[monitor_name].probes[probe_id].paused = True

    def drift_resume_probe(self, monitor_name: str, probe_id: str) -> None:
        """A paused probe resumed out of band (UpdateProbe state=ACTIVE by someone else), at once."""
        self.backend.monitors[monitor_name].probes[probe_id].paused = False

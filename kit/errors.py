"""Every exception and warning the kit raises, in one place.

    RuntimeError
     └── ClusterError            the cluster could not do what was asked
          ├── BrokerError        the embedded Redis could not be found, started or restarted
          └── WorkerBootError    a worker exited or was not ready before its deadline
    ValueError
     ├── StepError               the app's steps cannot form a blueprint
     │    ├── StepCycleError           steps require each other in a cycle
     │    ├── UnknownRequirementError  a `requires` string does not import
     │    ├── CrossBlueprintError      a step requires a step of the other blueprint
     │    └── NotAStepError            (also a TypeError) not a `bootsteps.Step` subclass
     └── RecordingError          a file is not a kit recording, or of a newer format
    TypeError
     └── ShippingError           something in the app can't be sent to the workers
    UserWarning
     ├── StepWarning             a step does something the guide warns against
     ├── ShadowWarning           a file next to the notebook hides a package every worker imports
     └── RecordingWarning        a recording stopped (a full disk); the cluster runs on

Every class is exported from `kit`; messages name the bad value and end with the fix.
"""

import os
import sys

_KIT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frame():
    """The innermost frame outside the kit's own code (None if none), and its depth.

    The depth counts the caller of ``user_frame`` as 1, its caller as 2, and so on.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_KIT_DIR):
        frame, level = frame.f_back, level + 1
    return frame, level


def user_stacklevel():
    """The ``stacklevel`` that points a warning raised by the caller at the user's line.

    That is the innermost frame outside the kit, however deep inside the kit the caller is.
    """
    # one level less: user_frame counts this function's frame too
    return user_frame()[1] - 1


class ClusterError(RuntimeError):
    """The cluster could not do what was asked."""


class BrokerError(ClusterError):
    """The embedded Redis could not be found or started."""


class WorkerBootError(ClusterError):
    """A worker process exited or was not ready (no `kit-ready`) before its deadline.

    `stuck` is the worker's `kit-stuck` report when a step's boot method hung (else None).
    """

    def __init__(self, message, stuck=None):
        super().__init__(message)
        self.stuck = stuck


class StepError(ValueError):
    """The steps of an app cannot form a blueprint."""


class StepCycleError(StepError):
    """Steps require each other in a cycle (Celery itself would loop forever)."""


class UnknownRequirementError(StepError):
    """A ``requires`` (or ``app.steps``) string does not import."""


class CrossBlueprintError(StepError):
    """A step requires (maybe through a chain) a step of the other blueprint (Celery issue 3955)."""


class NotAStepError(StepError, TypeError):
    """Something used as a step is not a ``celery.bootsteps.Step`` subclass."""


class ShippingError(TypeError):
    """Something in the app can't be sent to the workers."""


class StepWarning(UserWarning):
    """A step does something the Extensions & Bootsteps guide warns against."""


class ShadowWarning(UserWarning):
    """A file in the notebook's folder has the name of a package every worker imports at start."""


class RecordingError(ValueError):
    """A file is not a kit recording, or one of a newer format than this kit reads."""


class RecordingWarning(UserWarning):
    """A recording stopped (e.g. its disk is full); the cluster keeps running."""

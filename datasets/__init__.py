"""bc_gym.datasets: the trajectory format, loaders, samplers, exports and recipes.

The format is specified in ``docs/dataset-format.md``. The core (this package without
``bc_gym.datasets.torch``) needs only numpy and h5py.
"""

from .reader import Dataset, Episode, Frames, load_dataset
from .spec import FORMAT_VERSION, KEY_EVENT_DTYPE
from .validate import validate
from .writer import DatasetWriter, EpisodeData

__all__ = [
    "FORMAT_VERSION",
    "KEY_EVENT_DTYPE",
    "Dataset",
    "DatasetWriter",
    "Episode",
    "EpisodeData",
    "Frames",
    "load_dataset",
    "validate",
]

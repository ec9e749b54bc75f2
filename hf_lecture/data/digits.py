"""Images for the ViT: scikit-learn's handwritten digits (offline), any image folder, and the collator.

- ``load_digits_dataset``: the 1,797 8x8 digits of ``sklearn.datasets.load_digits`` as a ``datasets.DatasetDict``
  with ``image`` (PIL, RGB: the gray value repeated, because the image-classification pipeline converts
  every input to RGB) and ``label`` (ClassLabel "0" ... "9"), split into train / a fixed 20% test.
- ``load_image_dataset``: the same for a folder of images (datasets' "imagefolder": one sub-folder per
  class) or a dataset saved with ``save_to_disk``; digits when no folder is given.
- ``make_image_processor``: transformers' ViT image processor (resize, rescale to [0, 1], normalise to [-1, 1]).
- ``ImageClassificationCollator``: PIL images -> ``pixel_values`` (B, 3, H, W) and ``labels`` (B,).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, load_dataset, load_from_disk
from PIL import Image as PILImage

DIGIT_LABELS = [str(digit) for digit in range(10)]


def split_train_test(dataset: Dataset, test_size: float = 0.2, seed: int = 0) -> DatasetDict:
    """A fixed held-out split: the same ``seed`` always holds out the same images, stratified by label."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    return dataset.train_test_split(test_size=test_size, seed=seed, stratify_by_column="label")


def load_digits_dataset(test_size: float = 0.2, seed: int = 0) -> DatasetDict:
    """sklearn's 8x8 handwritten digits as {"train", "test"} with RGB PIL ``image`` and ClassLabel ``label``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8), ink values 0..16 -> 0..255
    images = [PILImage.fromarray(np.repeat(image[:, :, None], 3, axis=2)) for image in gray]
    features = Features({"image": Image(), "label": ClassLabel(names=DIGIT_LABELS)})
    dataset = Dataset.from_dict({"image": images, "label": digits.target.tolist()}, features=features)
    return split_train_test(dataset, test_size, seed)


def load_image_dataset(data_dir: str | None = None, test_size: float = 0.2, seed: int = 0) -> DatasetDict:
    """{"train", "test"} with ``image`` and ``label`` columns: digits, an image folder, or a saved dataset.

    A folder written by ``save_to_disk`` (a Dataset or a DatasetDict) is loaded as it is; any other folder is
    read with datasets' "imagefolder" builder (class = sub-folder name). Without a "test" split, a fixed
    ``test_size`` share of "train" is held out.
    """
    if data_dir is None:
        return load_digits_dataset(test_size, seed)
    if not os.path.isdir(data_dir):
        raise ValueError(f"data_dir must be a folder of images or a saved dataset, got {data_dir!r}")
    if any(os.path.exists(os.path.join(data_dir, name)) for name in ("dataset_dict.json", "dataset_info.json")):
        loaded = load_from_disk(data_dir)
    else:
        loaded = load_dataset("imagefolder", data_dir=data_dir)
    if isinstance(loaded, Dataset):
        loaded = DatasetDict({"train": loaded})
    if "train" not in loaded:
        raise ValueError(f"the dataset in {data_dir!r} has no 'train' split (found {list(loaded)})")
    for column in ("image", "label"):
        if column not in loaded["train"].column_names:
            raise ValueError(
                f"the dataset in {data_dir!r} needs an {column!r} column, found {loaded['train'].column_names}"
            )
    if not isinstance(loaded["train"].features["label"], ClassLabel):
        raise ValueError(f"the 'label' column in {data_dir!r} must be a datasets.ClassLabel (class names)")
    if "test" in loaded:
        return DatasetDict({"train": loaded["train"], "test": loaded["test"]})
    return split_train_test(loaded["train"], test_size, seed)


def label_names(dataset: Dataset) -> list[str]:
    """The class names of the ``label`` column, in id order."""
    return list(dataset.features["label"].names)


def make_image_processor(image_size: int = 8):
    """transformers' ViT image processor: resize to image_size x image_size, x / 255, then (x - 0.5) / 0.5.

    It saves as ``preprocessor_config.json`` (type "ViTImageProcessor"), which ``AutoImageProcessor``
    and ``pipeline("image-classification", model=folder)`` load back from the model's folder.
    """
    try:  # the default (torchvision) backend when installed, the PIL backend otherwise: the same numbers
        import torchvision  # noqa: F401
        from transformers import ViTImageProcessor as processor_class
    except ImportError:
        from transformers import ViTImageProcessorPil as processor_class
    return processor_class(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


@dataclass
class ImageClassificationCollator:
    """A batch of {"image": PIL, "label": int} -> {"pixel_values": (B, 3, H, W) float, "labels": (B,) long}."""

    image_processor: object

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        images = [feature["image"].convert("RGB") for feature in features]  # gray or RGBA files become RGB
        pixel_values = self.image_processor(images, return_tensors="pt")["pixel_values"]  # (B, 3, H, W)
        labels = torch.tensor([feature["label"] for feature in features], dtype=torch.long)  # (B,)
        return {"pixel_values": pixel_values, "labels": labels}


__all__ = [
    "DIGIT_LABELS",
    "ImageClassificationCollator",
    "label_names",
    "load_digits_dataset",
    "load_image_dataset",
    "make_image_processor",
    "split_train_test",
]

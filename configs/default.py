"""Default configuration: the dual-autoencoder study's recipe, for its dual autoencoder with skips.

Every other config imports this one and overrides only what differs. Run
    python main.py --config=configs/default.py --workdir=runs/default
Override any field from the command line, e.g. --config.batch_size=32 --config.num_train_steps=1000.

The config argument selects a variant: `--config=configs/dual_skip.py:quick` shrinks the run to one
that finishes within 10 minutes on a 2-core CPU and still learns (the eval table shows restored
PSNR above the noisy input's for every noise type).
"""
import ml_collections
from ml_collections import config_dict

from aedenoise.degradations import presets
from aedenoise.models import mnist_dae


def get_config(arg=None, model: str = 'dual_skip', recipe: dict | None = None,
               quick: dict | None = None, known: tuple[str, ...] = ()) -> ml_collections.ConfigDict:
  """The defaults below, then `recipe` (a model's own training recipe, as {'field.sub': value}),
  then the variants named in `arg` (the config argument, or what is left of it once a model's
  config took its own variants, `known`, by `parse_variants`); `quick` is what the `quick`
  variant sets for this model (default: `quick_run(QUICK_STEPS, QUICK_BATCH)`)."""
  config = ml_collections.ConfigDict()

  # Model: a key of aedenoise.models.MODELS, built with `model_kwargs` as its keyword arguments.
  config.model = model
  config.model_kwargs = ml_collections.ConfigDict()
  # How convolutions are computed: 'matmul' (im2col matrix products; fast on CPU), 'lax' (XLA's
  # convolutions; fast on GPU/TPU), 'by_shape' (per layer, the faster forward pass on CPU) or
  # 'auto' (aedenoise/policy.py: on CPU matmul for training, by_shape for restoring; lax
  # elsewhere). Parameters and results are the same either way.
  config.conv_impl = 'auto'

  # Training method (aedenoise/methods/): 'supervised' (degraded input -> clean target),
  # 'noise2noise' (the target degraded again, independently) or 'neighbor2neighbor' (noisy images
  # alone; with degradation 'identity' for a folder of noisy images).
  config.method = 'supervised'

  # Loss: a weighted sum of terms (aedenoise/losses.py): 'bce' (the dual-autoencoder study; needs a
  # sigmoid-output model), 'mse', 'l1', 'mse+100*l1', 'ssim', 'psnr', 'elbo' (= bce_sum+kl, VAEs).
  config.loss = 'bce'

  # Optimiser (optax): 'adam' or 'sgd' (with Nesterov momentum `momentum`).
  config.optimizer = 'adam'
  config.learning_rate = 1e-3          # Keras' Adam default, as in the dual-autoencoder study
  config.momentum = 0.9                 # for sgd
  config.lr_schedule = 'constant'       # 'constant' or 'cosine' (decay to 0 over the run)
  config.warmup_steps = 0               # linear warm-up from 0, for either schedule
  config.grad_clip_norm = 0.0           # clip gradients to this global norm; 0 = off
  # Non-finite updates (NaN/Inf loss or gradients) are skipped; past this many in one run it stops,
  # and the next run resumes from the last checkpoint with another data order and noise.
  config.max_nonfinite_steps = 10
  config.ema_decay = 0.0                # keep an EMA of the parameters (e.g. 0.999) for evaluation
  # Compute type of the model's forward and backward pass: 'float32' or 'bfloat16' (parameters,
  # loss and metrics stay float32).
  config.dtype = 'float32'
  # Images per device in one forward/backward pass; the step averages the gradients of its passes
  # (a lax.scan), the same update up to float summation order. 'auto': 1 on the CPU, where one
  # image's activations stay in cache and a whole batch's do not (docs/PERFORMANCE.md); the whole
  # batch on accelerators and for BatchNorm models. 0 = the whole batch; a number = that many
  # (--config.micro_batch_size=4 on the command line).
  config.micro_batch_size = config_dict.FieldReference('auto', field_type=object)

  # Training length and cadence. The dual-autoencoder study: 40 epochs of 144,003 pairs at batch
  # 128 (1,125 steps per epoch, last partial batch dropped) = 45,000 steps.
  config.batch_size = 128               # global batch, over all devices and hosts
  config.num_train_steps = 45_000
  config.log_every_steps = 100          # metrics.jsonl, TensorBoard, progress line
  config.checkpoint_every_steps = 1_000
  config.keep_checkpoints = 3           # newest checkpoints kept in workdir/checkpoints
  config.eval_every_steps = 5_000       # evaluation during training (0 = only at the end)
  config.seed = 0                       # parameters, data order, crops and training noise

  # Data. Sources (docs/DATA.md): 'builtin:dead_leaves' (procedural, no download), 'builtin:skimage'
  # (crops of the photos scikit-image ships), 'folder:PATH' (images under PATH, recursive),
  # 'pairs:NOISY_DIR,CLEAN_DIR' (noisy/clean pairs), 'tfds:NAME[:SPLIT]' (TensorFlow Datasets).
  config.data = ml_collections.ConfigDict()
  config.data.train = 'builtin:dead_leaves'
  config.data.eval = 'builtin:skimage'
  config.data.image_size = (100, 100)   # (height, width) of the targets (an SR model's input is smaller)
  config.data.eval_image_size = ()      # evaluation crops if not image_size (fully conv. models)
  config.data.channels = 1              # 1 = grayscale (ITU-R 601 luma), 3 = RGB
  config.data.fit = 'crop'              # 'crop' (random in training, centred in eval) or 'resize'
  config.data.resize_method = 'bicubic' # for fit='resize': nearest/bilinear/bicubic/lanczos/box
  config.data.train_split = 'all'       # folders: 'all', or 'train'/'val'/'test' of the split below
  config.data.eval_split = 'all'
  config.data.split_seed = 1234         # the dual-autoencoder study: random.Random(1234) shuffle,
  config.data.test_fraction = 0.2       #   20% test,
  config.data.val_fraction = 0.1        #   then 10% of the rest as validation
  config.data.pairs_row = 'pairs'       # row of on-disk pairs in eval tables: 'real' for camera captures
  config.data.stratify = False          # folders: split each top-level subfolder (class) alike
  config.data.num_eval = 0              # evaluate on the first N images (0 = all)
  config.data.builtin_seed = 0          # which dead-leaves images
  config.data.num_workers = 2           # host threads decoding/cropping (per worker process)
  config.data.worker_processes = 0      # grain worker processes (0 = threads only; each imports the code)
  config.data.prefetch = 2              # batches prepared ahead
  config.data.cache_mb = 1024           # decoded training images kept in host memory (0 = off)
  config.data.patches_per_image = 1     # random crops per image and epoch (DnCNN-style patches)
  config.data.max_pixels = 100_000_000  # larger images (decompression bombs) are skipped and counted
  config.data.tfds_data_dir = ''        # where TFDS keeps prepared datasets ('' = ~/tensorflow_datasets)
  config.data.tfds_manual_dir = ''      # offline: folder holding the files TFDS would download
  config.data.tfds_image_key = ''       # the image feature ('' = 'image' or the only image feature)

  # Augmentation on the device, inside the train step, before the degradation (the real-noise
  # (SIDD) study: flips, rot90, hue, brightness). Pairs get the same transform on both images.
  config.augment = ml_collections.ConfigDict()
  config.augment.flip_left_right = False
  config.augment.flip_up_down = False
  config.augment.rot90 = False          # a random multiple of 90 degrees (square images only)
  config.augment.hue = 0.0              # max hue shift, in turns of the colour wheel (RGB only)
  config.augment.brightness = 0.0       # max brightness shift on the [0, 1] scale

  # Degradation applied on the device to every training batch: a spec (see
  # aedenoise/degradations/core.py and docs/DEGRADATIONS.md). Pick another preset with the config
  # argument, `--config=configs/dual_skip.py:degradation=cifar_mix`. The dual-autoencoder study: one of Gaussian,
  # Poisson, speckle and impulse noise per image, strength drawn from a range.
  config.degradation = ml_collections.ConfigDict(presets.PRESETS['faces_mix'])

  # Evaluation: one row per part of the degradation (the options of a one_of), fixed keys.
  config.eval = ml_collections.ConfigDict()
  # The degradation evaluation applies to clean images, when it is not the training's (a model
  # trained on noisy images alone, degradation 'identity'): a spec or preset name; '' = the same.
  config.eval.degradation = config_dict.FieldReference('', field_type=object)
  config.eval.seed = 2023               # evaluation noise: image i of row r always gets the same key
  config.eval.batch_size = 64
  config.eval.quantize = True           # round restored/noisy images to 8 bits before scoring
  config.eval.crop_border = 0           # pixels dropped on each side before scoring
  config.eval.y_channel = False         # score colour images on BT.601 luma only
  config.eval.grid_images = 4           # images per degradation in the eval grid PNG
  # Classic denoisers scored as extra rows, e.g. 'bm3d,nlm' or 'all'
  # (aedenoise/evaluation/baselines.py): run on the host over `baseline_workers` processes (0 = one
  # per core), cached in `baseline_cache` ('' = ~/.cache/aedenoise/baselines).
  config.eval.baselines = ''
  # Score every whole image of data.eval=folder:DIR through the tiler instead of crops (--mode=eval).
  config.eval.whole_images = False
  config.eval.baseline_workers = 0
  config.eval.baseline_cache = ''

  config.update_from_flattened_dict(recipe or {})
  apply_variants(config, parse_variants(arg),
                 quick if quick is not None else quick_run(QUICK_STEPS, QUICK_BATCH), known)
  return config


# A model's `quick` variant when its config names none: a short run on data that needs no download.
QUICK_STEPS, QUICK_BATCH = 400, 16


def quick_run(steps: int, batch_size: int, extra: dict | None = None) -> dict:
  """A `quick` variant: `steps` at `batch_size`, data that needs no download (procedural training
  images, crops of scikit-image's photos for evaluation), logs 16 times, no evaluation until the
  end; `extra` holds further {'field.sub': value} settings."""
  return {'num_train_steps': steps, 'batch_size': batch_size, 'log_every_steps': max(steps // 16, 1),
          'checkpoint_every_steps': max(steps // 4, 1), 'eval_every_steps': 0,
          'data.train': 'builtin:dead_leaves', 'data.eval': 'builtin:skimage',
          'data.train_split': 'all', 'data.eval_split': 'all', **(extra or {})}


# Fields whose value is a whole spec, replaced rather than merged by `from_saved`.
WHOLE_VALUES = ('model_kwargs', 'degradation', 'eval.degradation')


def from_saved(saved: dict) -> ml_collections.ConfigDict:
  """A run's saved config (its config.json) over today's defaults: every field a later version
  added takes its default, so code reads each field without a default of its own; an MNIST model
  saved under its own name ('mnist_dae_d5_l8') is today's 'mnist_dae' with its arguments."""
  saved = dict(saved)
  if saved.get('model') in mnist_dae.LEGACY_NAMES:
    saved['model'], saved['model_kwargs'] = 'mnist_dae', mnist_dae.LEGACY_NAMES[saved['model']]
  config = get_config()
  whole = {}
  for dotted in WHOLE_VALUES:
    node = saved
    *parents, leaf = dotted.split('.')
    for p in parents:
      node = node.get(p, {}) if isinstance(node, dict) else {}
    if isinstance(node, dict) and leaf in node:
      whole[dotted] = node.pop(leaf)
  with config.unlocked():
    config.update(saved)
    for dotted, value in whole.items():
      *parents, leaf = dotted.split('.')
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = ml_collections.ConfigDict(value) if isinstance(value, dict) else value
  return config


# What `apply_variants` itself knows, for the message that names an unknown variant.
VARIANTS = ('quick', 'degradation=PRESET')


def parse_variants(arg) -> list[tuple[str, str | None]]:
  """The config argument, comma separated, as (name, value) pairs: 'colour,sigma=15,quick' ->
  [('colour', None), ('sigma', '15'), ('quick', None)]. A list of pairs is returned as it is, so
  that a model's config can take its own variants and pass on the rest. The one parser of config
  arguments: every config reads its variants through it."""
  if isinstance(arg, (list, tuple)):
    return list(arg)
  pairs = []
  for part in filter(None, (p.strip() for p in (arg or '').split(','))):
    name, eq, value = part.partition('=')
    pairs.append((name.strip(), value.strip() if eq else None))
  return pairs


def apply_variants(config, variants: list[tuple[str, str | None]], quick: dict,
                   known: tuple[str, ...] = ()) -> None:
  """`quick` and `degradation=PRESET` (`:quick,degradation=quality_mix`). A preset chosen here can
  still be tuned field by field, e.g. `--config.degradation.options.gaussian.sigma=0.1`. `known`:
  the variants a model's config took before, named when one is unknown."""
  for name, value in variants:
    if name == 'quick' and value is None:
      config.update_from_flattened_dict(quick)
    elif name == 'degradation' and value:
      if value not in presets.PRESETS:
        raise ValueError(f'unknown degradation preset {value!r}; known: '
                         f'{", ".join(sorted(presets.PRESETS))}')
      config.degradation = ml_collections.ConfigDict(presets.PRESETS[value])
    else:
      shown = name if value is None else f'{name}={value}'
      raise ValueError(f'unknown config variant {shown!r}; known: '
                       f'{", ".join((*known, *VARIANTS))}')

"""The API's image arrays (input_pipeline/pixels.py): every dtype read by its range and given back in
its own form; what is no image refused in one line that names it."""
import numpy as np
import pytest

from aedenoise.errors import UserError
from aedenoise.input_pipeline import pixels


@pytest.mark.parametrize('dtype,values,peak', [
    (np.uint8, [0, 128, 255], 255), (np.uint16, [0, 300, 65535], 65535),
    (np.int64, [0, 17, 255], 255), (np.int32, [0, 1000, 40000], 65535),
    (np.float32, [0.0, 0.25, 1.0], 1), (np.float64, [0.0, 0.5, 1.0], 1)])
def test_dtypes_are_read_by_their_range_and_given_back(dtype, values, peak):
  image = np.array(values * 4, dtype).reshape(3, 4)
  floats, kind = pixels.to_float(image)
  assert floats.dtype == np.float32 and floats.shape == (3, 4, 1)
  np.testing.assert_allclose(floats[..., 0], image.astype(np.float64) / peak, rtol=1e-6)
  back = pixels.from_float(floats, kind)
  assert back.dtype == image.dtype and back.shape == image.shape
  np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize('image,match', [
    (np.array([[0.5, np.nan]], np.float32), 'NaN'),
    (np.array([[0.5, np.inf]], np.float64), 'NaN or infinite'),
    (np.array([[0.0, 1.01]], np.float32), r'\[0, 1\]'),
    (np.array([[0.0, 200.0]], np.float32), 'divide 0-255 values by 255'),
    (np.array([[-1, 5]], np.int64), '0-255 or 0-65535'),
    (np.array([[0, 70000]], np.int64), '0-255 or 0-65535'),
    (np.zeros((0, 0)), 'empty'),
    (np.zeros((4, 4, 2), np.uint8), 'H x W'),
    ('photo.png', 'NumPy image array, got str'),
    (np.array([['a']]), 'no image')])
def test_what_is_no_image_is_refused_in_one_line(image, match):
  with pytest.raises(UserError, match=match) as e:
    pixels.to_float(image, 'image 3')
  assert '\n' not in str(e.value) and str(e.value).startswith('image 3')

import pytest

from gluon_lessons import data as house_data


@pytest.fixture(scope="session")
def walkthrough():
    """The walkthrough's data set: 1000 standardized examples, w = [2, -3.4], b = 4.2, noise 0.01."""
    return house_data.synthetic_house_prices(**house_data.WALKTHROUGH)

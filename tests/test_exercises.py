"""The exercises' self-checks: every worked solution passes its check, and each check turns down the
classic wrong answers with a hint (never an exception), judged against truths computed when it runs."""

import math

import numpy as onp
import pytest

from gluon_lessons import exercises, lessons

ALL = exercises.exercises()


def test_every_lesson_has_at_least_two_checked_exercises():
    for lesson in lessons.LESSONS:
        assert len(exercises.exercises(lesson.number)) >= 2, lesson.slug


@pytest.mark.parametrize("lesson", [lesson.number for lesson in lessons.LESSONS])
def test_every_worked_solution_passes_its_check(lesson):
    results, printed = exercises.run_solutions(lesson)
    assert sorted(result.exercise.number for result in results) == [
        item.number for item in exercises.exercises(lesson)
    ], "each exercise checked once"
    assert all(results), "\n".join(str(result) for result in results if not result)
    assert printed.count(": correct - ") == len(results)
    assert all(len(line) <= 100 for line in printed.splitlines())


def _hint(lesson, number, answer, *expected):
    result = exercises.judge(lesson, number, answer)
    assert not result.passed, str(result)
    for text in expected:
        assert text in result.message, result.message
    return result


# Plausible wrong answers, one or more per exercise; the hint must point at what differs.


def test_standard_errors_off_by_root_n_and_without_the_bias():
    def per_mean(features, noise):  # (X̃ᵀX̃/n)⁻¹: the √n mistake
        design = onp.hstack([features, onp.ones((len(features), 1))])
        return noise * onp.sqrt(onp.diag(onp.linalg.inv(design.T @ design / len(features))))

    _hint(1, 1, per_mean, "√n")
    _hint(
        1,
        1,
        lambda features, noise: noise * onp.sqrt(onp.diag(onp.linalg.inv(features.T @ features))),
        "one per weight and one for the bias",
    )


def test_the_half_of_standardizing_is_computed_not_stored():
    right = [item for item in ("centering", "scaling") if exercises.judge(1, 2, item).passed]
    assert len(right) == 1  # exactly one of the two is right, by the κ the check computes
    wrong = {"centering": "scaling", "scaling": "centering"}[right[0]]
    _hint(1, 2, wrong, "κ")
    _hint(1, 2, "both", "centering")


def test_updates_per_epoch_floor_against_ceiling():
    _hint(2, 1, lambda n, b, how: n // b, "partial batch")
    _hint(2, 1, lambda n, b, how: math.ceil(n / b), "only full batches")


def test_iterators_that_do_not_shuffle_repeat_or_split_pairs():
    def in_order(batch_size, features, labels, rng):
        for start in range(0, len(features), batch_size):
            yield features[start : start + batch_size], labels[start : start + batch_size]

    def with_replacement(batch_size, features, labels, rng):
        for _ in range(0, len(features), batch_size):
            rows = rng.integers(0, len(features), batch_size)
            yield features[rows], labels[rows]

    def shuffles_labels_alone(batch_size, features, labels, rng):
        order, other = rng.permutation(len(features)), rng.permutation(len(features))
        for start in range(0, len(features), batch_size):
            yield (
                features[order[start : start + batch_size]],
                labels[other[start : start + batch_size]],
            )

    def fixed_seed(batch_size, features, labels, rng):
        return in_order(
            batch_size, features[onp.random.default_rng(1).permutation(len(features))], labels, rng
        )

    _hint(2, 2, in_order, "original order")
    _hint(2, 2, with_replacement, "exactly once")
    _hint(2, 2, shuffles_labels_alone, "label must stay")
    _hint(2, 2, fixed_seed, "label must stay")


def test_the_sgd_step_without_the_mean_and_uphill():
    _hint(3, 1, lambda w, g, lr, b: w - lr * g, "= B) times")
    _hint(3, 1, lambda w, g, lr, b: w + lr * g / b, "uphill")


def test_the_momentum_step_as_an_average_or_not_applied():
    _hint(
        3,
        2,
        lambda w, v, g, lr, beta, b: (
            w + beta * v - (1 - beta) * lr * g / b,
            beta * v - (1 - beta) * lr * g / b,
        ),
        "average",
    )
    _hint(3, 2, lambda w, v, g, lr, beta, b: (w - lr * g / b, beta * v - lr * g / b), "w ← w + v")


def test_step_one_learning_rate_the_wrong_way_round():
    _hint(4, 1, 0.3, "other way round")
    _hint(4, 1, 0.03, "differ")


def test_walkthrough_weights_untrained_or_swapped():
    _hint(4, 2, (onp.zeros(2), 0.0), "w and b")
    _hint(4, 2, (onp.array([2.0, -3.4]), 0.0), "b more than")
    _hint(4, 2, onp.array([2.0, -3.4]), "pair")


def test_momentum_state_reversed_powers_and_average():
    _hint(5, 1, lambda grads, lr, beta: -lr * (beta ** onp.arange(len(grads))) @ grads, "newest")
    _hint(
        5,
        1,
        lambda grads, lr, beta: -(1 - beta) * lr * (beta ** onp.arange(len(grads))[::-1]) @ grads,
        "average",
    )


def test_best_heavy_ball_beta_not_squared_and_diverging():
    from gluon_lessons import landscape

    eigenvalues = landscape.eigenvalues(landscape.hessian(landscape.practical_houses()[0]))
    low, high = onp.sqrt(eigenvalues[0]), onp.sqrt(eigenvalues[-1])
    lr = (2 / (low + high)) ** 2
    _hint(5, 2, (lr, (high - low) / (high + low)), "square")
    _hint(5, 2, (10.0, 0.5), "diverge")
    _hint(
        5, 2, (2 / (eigenvalues[0] + eigenvalues[-1]), 0.0), "rate"
    )  # gradient descent's best: slower


def test_epoch_seconds_without_the_partial_batch_or_a_full_one():
    _hint(6, 1, lambda n, b, fixed, per: (n // b) * (fixed + per * b), "partial batch")
    _hint(6, 1, lambda n, b, fixed, per: math.ceil(n / b) * (fixed + per * b), "only")


def test_fit_update_time_swapped_or_through_two_points():
    def swapped(batch_sizes, seconds):
        per, fixed = onp.polyfit(batch_sizes, seconds, 1)
        return per, fixed

    _hint(6, 2, swapped, "intercept first")
    _hint(
        6,
        2,
        lambda b, s: (s[0] - (s[1] - s[0]) / (b[1] - b[0]) * b[0], (s[1] - s[0]) / (b[1] - b[0])),
        "least squares",
    )


def test_batch_variance_without_1_over_b_or_with_n_minus_1():
    def total(gradients):
        return ((gradients - gradients.mean(0)) ** 2).sum(1).mean()

    _hint(7, 1, lambda gradients, b: total(gradients), "1/B")
    _hint(
        7,
        1,
        lambda gradients, b: total(gradients) * len(gradients) / (len(gradients) - 1) / b,
        "n − 1",
    )


def test_noise_scale_with_the_length_or_uncentered():
    def total(gradients):
        return ((gradients - gradients.mean(0)) ** 2).sum(1).mean()

    _hint(7, 2, lambda g: total(g) / onp.linalg.norm(g.mean(0)), "squared length")
    _hint(7, 2, lambda g: (g**2).sum(1).mean() / (g.mean(0) @ g.mean(0)), "center")


def test_hessian_with_a_missing_product_rule_term():
    _hint(
        8,
        1,
        lambda w1, w2: onp.array([[2 * w2**2, 2 * w1 * w2], [2 * w1 * w2, 2 * w1**2]]),
        "off-diagonal",
    )
    _hint(8, 1, lambda w1, w2: onp.array([[0.0, -2.0], [-2.0, 0.0]]), "differs")
    _hint(
        8,
        1,
        lambda w1, w2: onp.array([[2 * w2**2, 0.0], [4 * w1 * w2 - 2, 2 * w1**2]]),
        "symmetric",
    )


def test_kind_that_ignores_zero_or_mixed_signs():
    _hint(8, 2, lambda values, tol: "minimum" if onp.all(values >= 0) else "saddle", "a zero decides")
    _hint(8, 2, lambda values, tol: "degenerate" if onp.any(abs(values) <= tol) else "saddle", "every sign")
    _hint(8, 2, lambda values, tol: "saddle", "every sign")


def test_power_iteration_reporting_lambda_squared():
    def squared(hvp, dim):
        vector = onp.ones(dim) / onp.sqrt(dim)
        for _ in range(500):
            product = hvp(vector)
            vector = product / onp.linalg.norm(product)
        return float(onp.linalg.norm(hvp(hvp(vector))))

    _hint(9, 1, squared, "λ²")
    _hint(9, 1, lambda hvp, dim: float(onp.linalg.norm(hvp(onp.ones(dim)))), "repeat")


def test_interval_with_196_or_unpaired():
    from scipy import stats

    def normal(small, large):
        d = small - large
        half = 1.96 * d.std(ddof=1) / onp.sqrt(len(d))
        return d.mean(), d.mean() - half, d.mean() + half

    def unpaired(small, large):
        n = len(small)
        half = stats.t.ppf(0.975, n - 1) * onp.sqrt(small.var(ddof=1) / n + large.var(ddof=1) / n)
        d = small.mean() - large.mean()
        return d, d - half, d + half

    _hint(9, 2, normal, "Student")
    _hint(9, 2, unpaired, "pair")


def test_rprop_that_moves_after_a_flip_or_uses_gradient_size():
    def moves_after_flip(gradients, initial_step):  # Rprop without the pause after a flip
        step, previous, weight, path = onp.full(gradients.shape[1], initial_step), 0, 0.0, []
        for gradient in gradients:
            agreement = onp.sign(gradient) * previous
            step = onp.clip(
                step * onp.where(agreement > 0, 1.2, onp.where(agreement < 0, 0.5, 1.0)), 1e-6, 50
            )
            weight = weight - onp.sign(gradient) * step
            previous = onp.sign(gradient)
            path.append(weight.copy())
        return onp.array(path)

    _hint(10, 1, moves_after_flip, "does not move")
    _hint(10, 1, lambda gradients, step: -onp.cumsum(gradients * step, axis=0), "first step")


def test_rmsprop_with_gamma_on_the_new_gradient():
    _hint(
        10,
        2,
        lambda w, n, g, lr, gamma, eps: (
            w - lr * g / onp.sqrt(gamma * g * g + (1 - gamma) * n + eps),
            gamma * g * g + (1 - gamma) * n,
        ),
        "γ weighs",
    )
    _hint(
        10,
        2,
        lambda w, n, g, lr, gamma, eps: (
            w - lr * g / onp.sqrt(n + eps),
            (1 - gamma) * g * g + gamma * n,
        ),
        "new n",
    )


def test_split_sizes_with_the_remainder_at_the_end_or_lost():
    _hint(11, 1, lambda b, k: [b // k] * (k - 1) + [b - b // k * (k - 1)], "remainder")
    _hint(11, 1, lambda b, k: [b // k] * k, "add up")


def test_stability_limit_one_over_lambda_or_from_the_smallest():
    from gluon_lessons import data, landscape

    values = landscape.eigenvalues(landscape.hessian(data.walkthrough_data().features))
    _hint(11, 2, 1 / values[-1], "twice")
    _hint(11, 2, 2 / values[0], "largest eigenvalue")


def test_no_answer_a_raising_answer_and_a_malformed_call():
    result = exercises.judge(3, 1, None)
    assert not result and "no answer yet" in result.message
    result = exercises.judge(3, 1, lambda *args: 1 / 0)
    assert not result and "ZeroDivisionError" in result.message
    _hint(3, 1, 42, "function itself")
    with pytest.raises(ValueError, match="lesson 3 has no exercise 9; its exercises are 1, 2"):
        exercises.check(3, 9, None)
    with pytest.raises(ValueError, match="no lesson 12"):
        exercises.check(12, 1, None)


def test_check_prints_one_line_and_returns_the_result(capsys):
    result = exercises.check(2, 1, lambda n, b, how: n // b)
    printed = capsys.readouterr().out
    assert printed.startswith("Exercise 2.1 (updates per epoch): not yet - ") and not result


def test_solution_text_by_exercise():
    text = exercises.solution_text(3, 2)
    assert (
        text.startswith("# ## Exercise 2")
        and "def momentum_step" in text
        and "def sgd_step" not in text
    )


def test_command_line_check_and_solution(capsys, monkeypatch):
    from gluon_lessons.shell import cli

    assert cli.main(["check", "scratch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["exercise 3.1   the SGD step: correct", "exercise 3.2   the momentum step: correct"]
    assert cli.main(["solution", "3", "--exercise", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ## Exercise 2") and "def momentum_step" in out
    assert cli.main(["solution", "3", "--exercise", "7"]) == 2
    assert "lesson 3 has no exercise 7" in capsys.readouterr().err

    def wrong(lesson):  # a solution whose answer is wrong must make `check` fail
        return [exercises.judge(lesson, 1, lambda *args: 0)], ""

    monkeypatch.setattr(exercises, "run_solutions", wrong)
    assert cli.main(["check", "3"]) == 1
    out = capsys.readouterr().out
    assert "exercise 3.1   the SGD step: not yet: " in out and "checked 1 of 2" in out


def test_a_check_in_a_notebook_kernel(tmp_path):
    """The checks work where a learner calls them: a solution file executed as a notebook."""
    import jupytext
    from gluon_lessons.shell import notebooks

    notebook = jupytext.read(exercises.solution_path(2), fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebooks.execute_notebook(notebook, tmp_path, timeout=300)
    shown = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                    for output in cell.outputs)
    assert shown.count(": correct - ") == 2, shown


def test_notebook_kernels_print_no_transport_warning(tmp_path, capfd):
    """Executed notebooks talk to their kernel over local sockets: no TCP warning in a learner's output."""
    import nbformat
    from gluon_lessons.shell import notebooks

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    notebooks.execute_notebook(notebook, tmp_path, timeout=120)
    assert notebook.cells[0].outputs[0]["text"] == "42\n"
    captured = capfd.readouterr()
    assert "WARNING" not in captured.err and "encryption" not in captured.err, captured.err

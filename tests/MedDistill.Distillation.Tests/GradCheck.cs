namespace MedDistill.Distillation.Tests;

/// <summary>
/// Central finite differences against autograd, in float64. Losses here are scalars, so each input element's derivative
/// is compared directly: (L(x + ε) − L(x − ε)) / 2ε versus x.grad.
/// </summary>
internal static class GradCheck
{
    /// <summary>Checks d loss(inputs) / d inputs[i] for every input whose <paramref name="checkInput"/> entry is true (default all).</summary>
    public static void Inputs(Func<Tensor[], Tensor> loss, Tensor[] inputs, bool[]? checkInput = null, double eps = 1e-6,
        double atol = 1e-6, double rtol = 1e-4)
    {
        using var scope = NewDisposeScope();
        bool Checked(int i) => checkInput?[i] ?? true;
        for (int i = 0; i < inputs.Length; i++)
            if (Checked(i)) Assert.That(inputs[i].dtype, Is.EqualTo(ScalarType.Float64), "gradient checks need float64 inputs");

        var leaves = inputs.Select((x, i) => Checked(i) ? x.detach().requires_grad_() : x.detach()).ToArray();
        var value = loss(leaves);
        Assert.That(value.dim(), Is.EqualTo(0), "the loss must be a scalar");
        value.backward();

        for (int i = 0; i < inputs.Length; i++)
        {
            if (!Checked(i)) continue;
            double[] analytic = leaves[i].grad?.ToArray<double>() ?? new double[leaves[i].numel()];
            double[] values = inputs[i].ToArray<double>();
            var shape = inputs[i].shape;
            for (int k = 0; k < values.Length; k++)
            {
                double numeric = (Evaluate(loss, inputs, i, values, shape, k, +eps) - Evaluate(loss, inputs, i, values, shape, k, -eps)) / (2 * eps);
                Assert.That(analytic[k], Is.EqualTo(numeric).Within(atol + rtol * Math.Abs(numeric)),
                    $"d loss / d input {i} at flat index {k}: autograd {analytic[k]}, finite difference {numeric}");
            }
        }
    }

    /// <summary>Checks d loss() / d p for module parameters, perturbing them in place (and restoring them).</summary>
    public static void Parameters(Func<Tensor> loss, IEnumerable<nn.Parameter> parameters, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4)
    {
        var list = parameters.ToList();
        Assert.That(list, Is.Not.Empty);
        using var scope = NewDisposeScope();
        foreach (var p in list)
        {
            Assert.That(p.dtype, Is.EqualTo(ScalarType.Float64), "gradient checks need float64 parameters");
            p.grad = null;
        }
        loss().backward();
        int index = 0;
        foreach (var p in list)
        {
            double[] analytic = p.grad?.ToArray<double>() ?? new double[p.numel()];
            double[] values = p.ToArray<double>();
            var shape = p.shape;
            for (int k = 0; k < values.Length; k++)
            {
                double plus = WithValue(p, values, shape, k, values[k] + eps, loss);
                double minus = WithValue(p, values, shape, k, values[k] - eps, loss);
                double numeric = (plus - minus) / (2 * eps);
                Assert.That(analytic[k], Is.EqualTo(numeric).Within(atol + rtol * Math.Abs(numeric)),
                    $"d loss / d parameter {index} at flat index {k}: autograd {analytic[k]}, finite difference {numeric}");
            }
            WithValue(p, values, shape, 0, values[0], null);
            index++;
        }
    }

    private static double WithValue(nn.Parameter p, double[] values, long[] shape, int k, double value, Func<Tensor>? loss)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var perturbed = (double[])values.Clone();
        perturbed[k] = value;
        p.copy_(tensor(perturbed, shape));
        double result = loss is null ? 0 : loss().item<double>();
        p.copy_(tensor(values, shape));
        return result;
    }

    private static double Evaluate(Func<Tensor[], Tensor> loss, Tensor[] inputs, int which, double[] values, long[] shape, int k, double delta)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var perturbed = (double[])values.Clone();
        perturbed[k] += delta;
        var args = (Tensor[])inputs.Clone();
        args[which] = tensor(perturbed, shape);
        return loss(args).item<double>();
    }
}

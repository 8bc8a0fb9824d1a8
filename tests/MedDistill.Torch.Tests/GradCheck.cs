namespace MedDistill.Torch.Tests;

/// <summary>
/// Compares autograd gradients with central finite differences, in float64. The scalar checked is
/// sum(f(inputs) · R) for a fixed random R, so every output element contributes with its own weight.
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-4,
        bool[]? checkInput = null)
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < inputs.Length; i++)
            if (checkInput?[i] ?? true)
                Assert.That(inputs[i].dtype, Is.EqualTo(ScalarType.Float64), "gradcheck needs float64 inputs");

        Tensor projection;
        using (no_grad())
        {
            var probe = f(inputs);
            manual_seed(1234);
            projection = randn(probe.shape, ScalarType.Float64);
        }

        var leaves = inputs.Select((x, i) => (checkInput?[i] ?? true) ? x.detach().requires_grad_() : x.detach()).ToArray();
        var output = f(leaves).mul(projection).sum();
        output.backward();

        for (int i = 0; i < inputs.Length; i++)
        {
            if (!(checkInput?[i] ?? true)) continue;
            double[] analytic = leaves[i].grad?.ToArray<double>() ?? new double[leaves[i].numel()];
            double[] values = inputs[i].ToArray<double>();
            var shape = inputs[i].shape;
            for (int k = 0; k < values.Length; k++)
            {
                double plus = Evaluate(f, inputs, i, values, shape, k, +eps, projection);
                double minus = Evaluate(f, inputs, i, values, shape, k, -eps, projection);
                double numeric = (plus - minus) / (2 * eps);
                double tolerance = atol + rtol * Math.Abs(numeric);
                Assert.That(analytic[k], Is.EqualTo(numeric).Within(tolerance),
                    $"gradient of input {i} at flat index {k}: autograd {analytic[k]} vs finite difference {numeric}");
            }
        }
    }

    private static double Evaluate(Func<Tensor[], Tensor> f, Tensor[] inputs, int which, double[] values, long[] shape, int k,
        double delta, Tensor projection)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var perturbed = (double[])values.Clone();
        perturbed[k] += delta;
        var args = (Tensor[])inputs.Clone();
        args[which] = tensor(perturbed, shape);
        return f(args).mul(projection).sum().item<double>();
    }
}

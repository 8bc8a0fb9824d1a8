namespace MedDistill.Torch.Tests;

// Tensor operations checked against hand-computed values or plain C# loops.
public class TensorOpsTests
{
    private DisposeScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = NewDisposeScope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    private static float[] F(Tensor t) => t.ToArray<float>();
    private static long[] L(Tensor t) => t.ToArray<long>();

    /// <summary>A float tensor whose element at flat position n is n, in the given shape.</summary>
    private static Tensor Arange(params long[] shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return arange(n, float32).view(shape);
    }

    // ---------------------------------------------------------------- views and reshaping

    [Test]
    public void PermuteMovesEveryElementToItsPermutedPosition()
    {
        var x = arange(24).view(2, 3, 4);
        var y = x.permute(2, 0, 1);
        Assert.That(y.shape, Is.EqualTo(new long[] { 4, 2, 3 }));
        Assert.That(y.is_contiguous(), Is.False);
        var values = L(y);
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.That(values[k * 6 + i * 3 + j], Is.EqualTo(i * 12 + j * 4 + k), $"y[{k},{i},{j}]");
        Assert.That(L(torch.permute(x, 1, 2, 0)).Take(4), Is.EqualTo(new long[] { 0, 12, 1, 13 }));
    }

    [Test]
    public void ViewReshapeTransposeAndT()
    {
        var x = Arange(2, 3);
        Assert.That(x.view(-1, 2).shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(x.reshape(6).shape, Is.EqualTo(new long[] { 6 }));
        var xt = x.t();
        Assert.That(xt.shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(F(xt), Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
        Assert.That(F(x.transpose(0, 1)), Is.EqualTo(F(xt)));
        // reshape copies where a view is impossible; the element order is the transposed one.
        Assert.That(F(xt.reshape(6)), Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
        Assert.That(x.movedim(0, 1).shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(Arange(6).view_as(x).shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void ViewsShareStorageWithTheirBase()
    {
        var x = zeros(3, 4);
        x.narrow(1, 1, 2).fill_(7);
        x.select(0, 2).fill_(1);
        Assert.That(F(x), Is.EqualTo(new float[] { 0, 7, 7, 0, 0, 7, 7, 0, 1, 1, 1, 1 }));
    }

    [Test]
    public void NarrowSelectAndIndexers()
    {
        var x = Arange(3, 4);
        Assert.That(F(x.narrow(1, 1, 2)), Is.EqualTo(new float[] { 1, 2, 5, 6, 9, 10 }));
        Assert.That(F(x.select(0, 2)), Is.EqualTo(new float[] { 8, 9, 10, 11 }));
        Assert.That(F(x.select(1, -1)), Is.EqualTo(new float[] { 3, 7, 11 }));
        Assert.That(F(x[1]), Is.EqualTo(new float[] { 4, 5, 6, 7 }));
        Assert.That(x[2, 3].item<float>(), Is.EqualTo(11f));
        Assert.That(x[-1, 0].item<float>(), Is.EqualTo(8f));
        Assert.That(Arange(2, 2, 2)[1, 0, 1].item<float>(), Is.EqualTo(5f));

        x[0] = tensor(new float[] { -1, -2, -3, -4 });
        x[1, 1] = scalar_tensor(100);
        Assert.That(F(x).Take(8), Is.EqualTo(new float[] { -1, -2, -3, -4, 4, 100, 6, 7 }));
    }

    [Test]
    public void ExpandWithMinusOneBroadcastsWithoutCopying()
    {
        var x = tensor(new float[] { 1, 2, 3 }).view(3, 1);
        var e = x.expand(-1, 4);
        Assert.That(e.shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(e.stride(), Is.EqualTo(new long[] { 1, 0 }));
        Assert.That(F(e), Is.EqualTo(new float[] { 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 }));
        Assert.That(x.expand(2, 3, 4).shape, Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(x.expand_as(zeros(5, 3, 2)).shape, Is.EqualTo(new long[] { 5, 3, 2 }));
    }

    [Test]
    public void RepeatTiles()
    {
        var x = tensor(new float[] { 1, 2 });
        var r = x.repeat(2, 2);
        Assert.That(r.shape, Is.EqualTo(new long[] { 2, 4 }));
        Assert.That(F(r), Is.EqualTo(new float[] { 1, 2, 1, 2, 1, 2, 1, 2 }));
    }

    [Test]
    public void FlattenUnflattenSqueezeUnsqueezeShapes()
    {
        var x = zeros(2, 3, 4, 5);
        Assert.That(x.flatten().shape, Is.EqualTo(new long[] { 120 }));
        Assert.That(x.flatten(1).shape, Is.EqualTo(new long[] { 2, 60 }));
        Assert.That(x.flatten(1, 2).shape, Is.EqualTo(new long[] { 2, 12, 5 }));
        Assert.That(torch.flatten(x, 0, -2).shape, Is.EqualTo(new long[] { 24, 5 }));
        var f = x.flatten(1, 2);
        Assert.That(f.unflatten(1, 3, 4).shape, Is.EqualTo(new long[] { 2, 3, 4, 5 }));
        Assert.That(f.unflatten(1, -1, 2).shape, Is.EqualTo(new long[] { 2, 6, 2, 5 }));

        var s = zeros(1, 3, 1, 2);
        Assert.That(s.squeeze().shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(s.squeeze(0).shape, Is.EqualTo(new long[] { 3, 1, 2 }));
        Assert.That(s.squeeze(-2).shape, Is.EqualTo(new long[] { 1, 3, 2 }));
        Assert.That(s.squeeze(1).shape, Is.EqualTo(new long[] { 1, 3, 1, 2 }), "a dimension not of size 1 stays");
        Assert.That(zeros(3).unsqueeze(0).shape, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(zeros(3).unsqueeze(-1).shape, Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(torch.unsqueeze(zeros(2, 3), 1).shape, Is.EqualTo(new long[] { 2, 1, 3 }));
    }

    [Test]
    public void FlipAndRoll()
    {
        var x = Arange(2, 3);
        Assert.That(F(x.flip(1)), Is.EqualTo(new float[] { 2, 1, 0, 5, 4, 3 }));
        Assert.That(F(x.flip(0, 1)), Is.EqualTo(new float[] { 5, 4, 3, 2, 1, 0 }));
        Assert.That(F(x.roll(1, 1)), Is.EqualTo(new float[] { 2, 0, 1, 5, 3, 4 }));
        Assert.That(F(x.roll(2)), Is.EqualTo(new float[] { 4, 5, 0, 1, 2, 3 }), "no dims: rolled as if flattened");
        Assert.That(F(x.roll([1, -1], [0, 1])), Is.EqualTo(new float[] { 4, 5, 3, 1, 2, 0 }));
    }

    // ---------------------------------------------------------------- joining and splitting

    [Test]
    public void CatAndStack()
    {
        var a = tensor(new float[] { 1, 2 }, 1, 2);
        var b = tensor(new float[] { 3, 4, 5, 6 }, 2, 2);
        var c = cat([a, b]);
        Assert.That(c.shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(F(c), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        var d = cat(new List<Tensor> { b.t(), b }, 1);
        Assert.That(F(d), Is.EqualTo(new float[] { 3, 5, 3, 4, 4, 6, 5, 6 }));

        var u = tensor(new float[] { 1, 2 });
        var v = tensor(new float[] { 3, 4 });
        Assert.That(stack([u, v]).shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(F(stack([u, v])), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.That(F(stack([u, v], 1)), Is.EqualTo(new float[] { 1, 3, 2, 4 }));
    }

    [Test]
    public void SplitAndChunkSizes()
    {
        var x = arange(10);
        var pieces = x.split(3);
        Assert.That(pieces.Select(p => p.shape[0]), Is.EqualTo(new long[] { 3, 3, 3, 1 }));
        Assert.That(L(pieces[3]), Is.EqualTo(new long[] { 9 }));
        var bySizes = torch.split(x, [2, 5, 3]);
        Assert.That(bySizes.Select(p => p.shape[0]), Is.EqualTo(new long[] { 2, 5, 3 }));
        Assert.That(L(bySizes[1]), Is.EqualTo(new long[] { 2, 3, 4, 5, 6 }));
        Assert.That(x.chunk(3).Select(p => p.shape[0]), Is.EqualTo(new long[] { 4, 4, 2 }));
        // chunk gives at most n pieces: 6 into 4 gives three of ceil(6/4) = 2.
        Assert.That(arange(6).chunk(4).Select(p => p.shape[0]), Is.EqualTo(new long[] { 2, 2, 2 }));
        var cols = Arange(2, 5).chunk(2, 1);
        Assert.That(cols.Select(p => p.shape), Is.EqualTo(new[] { new long[] { 2, 3 }, new long[] { 2, 2 } }));
        Assert.That(F(cols[1]), Is.EqualTo(new float[] { 3, 4, 8, 9 }));

        // Each piece is its own handle onto a view: disposing one leaves the rest, writing one writes x.
        pieces[0].Dispose();
        pieces[1].fill_(-1);
        Assert.That(L(x), Is.EqualTo(new long[] { 0, 1, 2, -1, -1, -1, 6, 7, 8, 9 }));
    }

    // ---------------------------------------------------------------- indexing

    [Test]
    public void IndexSelect()
    {
        var x = Arange(3, 4);
        Assert.That(F(x.index_select(0, tensor(new long[] { 2, 0 }))), Is.EqualTo(new float[] { 8, 9, 10, 11, 0, 1, 2, 3 }));
        Assert.That(F(x.index_select(1, tensor(new long[] { 3, 3, 0 }))), Is.EqualTo(new float[] { 3, 3, 0, 7, 7, 4, 11, 11, 8 }));
    }

    [Test]
    public void GatherPicksAlongTheDimension()
    {
        var x = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        // dim 1: out[i][j] = x[i][index[i][j]]
        Assert.That(F(x.gather(1, tensor(new long[] { 0, 0, 1, 0 }, 2, 2))), Is.EqualTo(new float[] { 1, 1, 4, 3 }));
        // dim 0: out[i][j] = x[index[i][j]][j]
        Assert.That(F(torch.gather(x, 0, tensor(new long[] { 1, 0, 0, 0 }, 2, 2))), Is.EqualTo(new float[] { 3, 2, 1, 2 }));
    }

    [Test]
    public void ScatterWritesSourceOrValueAtIndices()
    {
        var src = arange(1, 11, float32).view(2, 5);
        var index = tensor(new long[] { 0, 1, 2, 0 }, 1, 4);
        // self[index[i][j]][j] = src[i][j] for the positions index covers
        var s = zeros(3, 5).scatter(0, index, src);
        Assert.That(F(s), Is.EqualTo(new float[] { 1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0 }));

        var v = zeros(2, 4).scatter(1, tensor(new long[] { 2, 3 }, 2, 1), 1.5);
        Assert.That(F(v), Is.EqualTo(new float[] { 0, 0, 1.5f, 0, 0, 0, 0, 1.5f }));

        var target = zeros(3, 5);
        Assert.That(target.scatter_(0, index, src), Is.SameAs(target));
        Assert.That(F(target), Is.EqualTo(F(s)));
        target.scatter_(1, tensor(new long[] { 4, 4, 4 }, 3, 1), -1);
        Assert.That(F(target.select(1, 4)), Is.EqualTo(new float[] { -1, -1, -1 }));

        var sums = zeros(3).scatter_add(0, tensor(new long[] { 0, 1, 0, 2, 0 }), ones(5));
        Assert.That(F(sums), Is.EqualTo(new float[] { 3, 1, 1 }));
    }

    [Test]
    public void MaskedSelectIndexAndIndexPut()
    {
        var x = tensor(new float[] { 1, -2, 3, -4 });
        Assert.That(F(x.masked_select(x > 0)), Is.EqualTo(new float[] { 1, 3 }));
        Assert.That(F(x[x < 0]), Is.EqualTo(new float[] { -2, -4 }));
        Assert.That(F(x.index(tensor(new long[] { 3, 0 }))), Is.EqualTo(new float[] { -4, 1 }));
        x[x < 0] = scalar_tensor(0);
        Assert.That(F(x), Is.EqualTo(new float[] { 1, 0, 3, 0 }));

        var acc = zeros(3).index_put_(ones(3), [tensor(new long[] { 0, 0, 2 })], accumulate: true);
        Assert.That(F(acc), Is.EqualTo(new float[] { 2, 0, 1 }));

        // a null index keeps the whole dimension, like ':' in Python: m[:, [2, 0]]
        var m = Arange(2, 3);
        Assert.That(F(m.index(null, tensor(new long[] { 2, 0 }))), Is.EqualTo(new float[] { 2, 0, 5, 3 }));

        var nz = tensor(new float[] { 0, 1, 1, 0 }, 2, 2).nonzero();
        Assert.That(nz.shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(L(nz), Is.EqualTo(new long[] { 0, 1, 1, 0 }));
    }

    // ---------------------------------------------------------------- reductions

    [Test]
    public void SumAndMeanOverDimsMatchLoops()
    {
        var x = Arange(2, 3, 4);
        float V(int i, int j, int k) => i * 12 + j * 4 + k;

        var s1 = x.sum(1);
        Assert.That(s1.shape, Is.EqualTo(new long[] { 2, 4 }));
        var expected = new float[8];
        for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) for (int j = 0; j < 3; j++) expected[i * 4 + k] += V(i, j, k);
        Assert.That(F(s1), Is.EqualTo(expected));

        var s02 = x.sum([0, 2], keepdim: true);
        Assert.That(s02.shape, Is.EqualTo(new long[] { 1, 3, 1 }));
        var e02 = new float[3];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) e02[j] += V(i, j, k);
        Assert.That(F(s02), Is.EqualTo(e02));

        var m = x.mean(-1, keepdim: true);
        Assert.That(m.shape, Is.EqualTo(new long[] { 2, 3, 1 }));
        Assert.That(F(m), Is.EqualTo(new float[] { 1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f }));
        Assert.That(F(torch.mean(x, [0, 1])), Is.EqualTo(new float[] { 10, 11, 12, 13 }));

        // An empty dimension list reduces everything, like dim=None.
        Assert.That(x.sum(Array.Empty<long>()).item<float>(), Is.EqualTo(276f));
        Assert.That(x.sum(Array.Empty<long>(), keepdim: true).shape, Is.EqualTo(new long[] { 1, 1, 1 }));

        var ints = arange(6).view(2, 3);
        Assert.That(ints.sum(0).dtype, Is.EqualTo(ScalarType.Int64));
        // a literal 0 binds to a dimension, not to the dtype overload
        Assert.That(L(torch.sum(ints, 0)), Is.EqualTo(new long[] { 3, 5, 7 }));
        Assert.That(L(torch.prod(ints + 1, 0)), Is.EqualTo(new long[] { 4, 10, 18 }));
        var asDouble = ints.sum(0, dtype: float64);
        Assert.That(asDouble.dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(asDouble.ToArray<double>(), Is.EqualTo(new double[] { 3, 5, 7 }));
    }

    [Test]
    public void MaxMinOverDimReturnValuesAndIndices()
    {
        var x = tensor(new float[] { 1, 5, 3, 7, 2, 6 }, 2, 3);
        var (v, i) = x.max(1);
        Assert.That(F(v), Is.EqualTo(new float[] { 5, 7 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 1, 0 }));
        (v, i) = torch.min(x, 1);
        Assert.That(F(v), Is.EqualTo(new float[] { 1, 2 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 0, 1 }));
        (v, i) = x.max(0, keepdim: true);
        Assert.That(v.shape, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(F(v), Is.EqualTo(new float[] { 7, 5, 6 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 1, 0, 1 }));

        Assert.That(x.argmax().item<long>(), Is.EqualTo(3));
        Assert.That(x.argmin().item<long>(), Is.EqualTo(0));
        Assert.That(L(x.argmax(1)), Is.EqualTo(new long[] { 1, 0 }));
        var am = x.argmin(0, keepdim: true);
        Assert.That(am.shape, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(L(am), Is.EqualTo(new long[] { 0, 1, 0 }));
    }

    [Test]
    public void VarAndStdUnbiasedAndBiasedByHand()
    {
        var x = tensor(new double[] { 1, 2, 3, 4 });
        // mean 2.5; squared deviations sum to 5
        Assert.That(x.var().item<double>(), Is.EqualTo(5.0 / 3).Within(1e-12));
        Assert.That(x.var(unbiased: false).item<double>(), Is.EqualTo(1.25).Within(1e-12));
        Assert.That(x.std().item<double>(), Is.EqualTo(Math.Sqrt(5.0 / 3)).Within(1e-12));
        Assert.That(x.std(false).item<double>(), Is.EqualTo(Math.Sqrt(1.25)).Within(1e-12));

        var m = tensor(new double[] { 1, 2, 3, 4, 2, 4, 6, 8 }, 2, 4);
        Assert.That(m.var(1).ToArray<double>(), Is.EqualTo(new[] { 5.0 / 3, 20.0 / 3 }).Within(1e-12));
        var biased = m.var(1, unbiased: false, keepdim: true);
        Assert.That(biased.shape, Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(biased.ToArray<double>(), Is.EqualTo(new[] { 1.25, 5.0 }).Within(1e-12));
        // columns are pairs (a, 2a): unbiased variance (a - 2a)^2 / 2
        Assert.That(torch.std(m, 0).ToArray<double>(),
            Is.EqualTo(new[] { 1, 2, 3, 4 }.Select(a => Math.Sqrt(a * a / 2.0))).Within(1e-12));
        Assert.That(m.var([0, 1]).item<double>(), Is.EqualTo(m.var().item<double>()).Within(1e-12));
    }

    [Test]
    public void NormProdLogsumexpCumsum()
    {
        var v = tensor(new float[] { 3, -4 });
        Assert.That(v.norm().item<float>(), Is.EqualTo(5f).Within(1e-6));
        Assert.That(v.norm(1).item<float>(), Is.EqualTo(7f).Within(1e-6));
        Assert.That(v.norm(double.PositiveInfinity).item<float>(), Is.EqualTo(4f).Within(1e-6));
        var m = tensor(new float[] { 3, 4, 6, 8 }, 2, 2);
        Assert.That(F(m.norm(2, 1)), Is.EqualTo(new float[] { 5, 10 }).Within(1e-5));
        Assert.That(m.norm(2, [1], keepdim: true).shape, Is.EqualTo(new long[] { 2, 1 }));

        var p = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.That(p.prod().item<float>(), Is.EqualTo(720f));
        Assert.That(F(p.prod(1)), Is.EqualTo(new float[] { 6, 120 }));
        var p0 = p.prod(0, keepdim: true);
        Assert.That(p0.shape, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(F(p0), Is.EqualTo(new float[] { 4, 10, 18 }));

        var l = tensor(new double[] { 0, Math.Log(2), Math.Log(3), Math.Log(5) }, 2, 2);
        Assert.That(l.logsumexp(1).ToArray<double>(), Is.EqualTo(new[] { Math.Log(3), Math.Log(8) }).Within(1e-12));
        var big = tensor(new float[] { 1000, 1000 });
        Assert.That(big.logsumexp(0).item<float>(), Is.EqualTo(1000 + (float)Math.Log(2)).Within(1e-3), "no overflow");

        Assert.That(F(tensor(new float[] { 1, 2, 3, 4 }).cumsum(0)), Is.EqualTo(new float[] { 1, 3, 6, 10 }));
        Assert.That(L(Arange(2, 3).@long().cumsum(1)), Is.EqualTo(new long[] { 0, 1, 3, 3, 7, 12 }));
    }

    [Test]
    public void AllAnyAndCountNonzeroOverDims()
    {
        var b = tensor(new[] { true, false, true, true }, 2, 2);
        Assert.That(b.all(1).ToArray<bool>(), Is.EqualTo(new[] { false, true }));
        Assert.That(b.any(0).ToArray<bool>(), Is.EqualTo(new[] { true, true }));
        var a0 = torch.all(b, 0, keepdim: true);
        Assert.That(a0.shape, Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(a0.ToArray<bool>(), Is.EqualTo(new[] { true, false }));

        var c = tensor(new float[] { 0, 1, 2, 0, 0, 3 }, 2, 3);
        Assert.That(c.count_nonzero().item<long>(), Is.EqualTo(3));
        Assert.That(L(c.count_nonzero(0)), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(L(c.count_nonzero(1)), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(c.count_nonzero(0, 1).item<long>(), Is.EqualTo(3));
    }

    // ---------------------------------------------------------------- linear algebra, softmax

    private static float[,] MatMulLoop(float[] a, float[] b, int n, int k, int m)
    {
        var r = new float[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                float s = 0;
                for (int t = 0; t < k; t++) s += a[i * k + t] * b[t * m + j];
                r[i, j] = s;
            }
        return r;
    }

    [Test]
    public void MatmulMmBmmAgainstLoops()
    {
        var ad = Enumerable.Range(0, 12).Select(v => (v % 5) - 1.5f).ToArray();
        var bd = Enumerable.Range(0, 8).Select(v => v * 0.25f - 1).ToArray();
        var a = tensor(ad, 3, 4);
        var b = tensor(bd, 4, 2);
        var expected = MatMulLoop(ad, bd, 3, 4, 2).Cast<float>().ToArray();
        Assert.That(F(a.matmul(b)), Is.EqualTo(expected).Within(1e-5));
        Assert.That(F(torch.mm(a, b)), Is.EqualTo(expected).Within(1e-5));

        // batch of two: the second batch is the first times -2
        var ab = stack([a, a * -2]);
        var bb = stack([b, b]);
        var r = ab.bmm(bb);
        Assert.That(r.shape, Is.EqualTo(new long[] { 2, 3, 2 }));
        Assert.That(F(r), Is.EqualTo(expected.Concat(expected.Select(v => v * -2)).ToArray()).Within(1e-5));
        // matmul broadcasts a matrix over the batch
        Assert.That(F(matmul(ab, b)), Is.EqualTo(F(r)).Within(1e-5));
        // vector @ matrix
        var vm = tensor(new float[] { 1, 2 }).matmul(tensor(new float[] { 1, 2, 3, 4 }, 2, 2));
        Assert.That(vm.shape, Is.EqualTo(new long[] { 2 }));
        Assert.That(F(vm), Is.EqualTo(new float[] { 7, 10 }));
    }

    [Test]
    public void SoftmaxRowsSumToOneAndMatchTheDefinition()
    {
        var data = new float[] { 1, 2, 3, -1, 0, 5 };
        var x = tensor(data, 2, 3);
        var s = x.softmax(1);
        var ls = torch.log_softmax(x, -1);
        var sv = F(s);
        var lsv = F(ls);
        for (int r = 0; r < 2; r++)
        {
            double z = 0;
            for (int c = 0; c < 3; c++) z += Math.Exp(data[r * 3 + c]);
            for (int c = 0; c < 3; c++)
            {
                Assert.That(sv[r * 3 + c], Is.EqualTo(Math.Exp(data[r * 3 + c]) / z).Within(1e-6));
                Assert.That(lsv[r * 3 + c], Is.EqualTo(data[r * 3 + c] - Math.Log(z)).Within(1e-5));
            }
        }
        Assert.That(F(s.sum(1)), Is.EqualTo(new float[] { 1, 1 }).Within(1e-6));
        Assert.That(F(x.softmax(0).sum(0)), Is.EqualTo(new float[] { 1, 1, 1 }).Within(1e-6));
        Assert.That(x.softmax(1, float64).dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(arange(3).softmax(0, float32).dtype, Is.EqualTo(ScalarType.Float32));
        Assert.Throws<TorchTypeException>(() => arange(3).softmax(0));
    }

    // ---------------------------------------------------------------- selection

    [Test]
    public void ClampWithScalarOrTensorBounds()
    {
        var x = tensor(new float[] { -2, -0.5f, 0.5f, 2 });
        Assert.That(F(x.clamp(-1, 1)), Is.EqualTo(new float[] { -1, -0.5f, 0.5f, 1 }));
        Assert.That(F(x.clamp(min: 0)), Is.EqualTo(new float[] { 0, 0, 0.5f, 2 }));
        Assert.That(F(torch.clamp(x, max: 0.0)), Is.EqualTo(new float[] { -2, -0.5f, 0, 0 }));
        Assert.That(F(x.clamp(zeros(4), tensor(new float[] { 1, 1, 0.2f, 3 }))), Is.EqualTo(new float[] { 0, 0, 0.2f, 2 }));
        Assert.That(F(x.clamp(null, zeros(1))), Is.EqualTo(new float[] { -2, -0.5f, 0, 0 }));
        Assert.That(F(x), Is.EqualTo(new float[] { -2, -0.5f, 0.5f, 2 }), "not in place");
        var ints = arange(5).clamp(1, 3);
        Assert.That(ints.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(L(ints), Is.EqualTo(new long[] { 1, 1, 2, 3, 3 }));
        Assert.Throws<ArgumentException>(() => x.clamp());
    }

    [Test]
    public void WhereWithTensorsAndScalars()
    {
        var cond = tensor(new[] { true, false, true });
        var a = tensor(new float[] { 1, 2, 3 });
        var b = tensor(new float[] { 10, 20, 30 });
        Assert.That(F(where(cond, a, b)), Is.EqualTo(new float[] { 1, 20, 3 }));
        Assert.That(F(a.where(cond, b)), Is.EqualTo(new float[] { 1, 20, 3 }));
        Assert.That(F(where(cond, a, 0)), Is.EqualTo(new float[] { 1, 0, 3 }));
        Assert.That(where(cond, a, 0).dtype, Is.EqualTo(ScalarType.Float32));

        var ib = arange(3);
        var mixed = where(cond, 1.5, ib);
        Assert.That(mixed.dtype, Is.EqualTo(ScalarType.Float32), "int tensor with a float scalar promotes to the default float");
        Assert.That(F(mixed), Is.EqualTo(new float[] { 1.5f, 1, 1.5f }));
        var ints = where(cond, 1, 0);
        Assert.That(ints.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(L(ints), Is.EqualTo(new long[] { 1, 0, 1 }));
        // broadcasting: a column condition against a row
        var grid = where(tensor(new[] { true, false }, 2, 1), a, -1.0);
        Assert.That(F(grid), Is.EqualTo(new float[] { 1, 2, 3, -1, -1, -1 }));
    }

    [Test]
    public void MaskedFillScalarTensorAndInPlace()
    {
        var x = tensor(new float[] { 1, 2, 3, 4 });
        var mask = tensor(new[] { true, false, true, false });
        Assert.That(F(x.masked_fill(mask, -1)), Is.EqualTo(new float[] { -1, 2, -1, 4 }));
        Assert.That(F(x.masked_fill(mask, scalar_tensor(9))), Is.EqualTo(new float[] { 9, 2, 9, 4 }));
        Assert.That(F(x), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.That(x.masked_fill_(mask, 0), Is.SameAs(x));
        Assert.That(F(x), Is.EqualTo(new float[] { 0, 2, 0, 4 }));
        x.masked_fill_(mask.logical_not(), scalar_tensor(5));
        Assert.That(F(x), Is.EqualTo(new float[] { 0, 5, 0, 5 }));
    }

    [Test]
    public void OneHotLerpTypeAs()
    {
        var labels = tensor(new long[] { 0, 2, 1 });
        var oh = labels.one_hot(4);
        Assert.That(oh.shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(oh.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(L(oh), Is.EqualTo(new long[] { 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0 }));
        Assert.That(torch.one_hot(labels).shape, Is.EqualTo(new long[] { 3, 3 }), "-1: one more than the largest label");

        var s = tensor(new float[] { 0, 10 });
        var e = tensor(new float[] { 10, 20 });
        Assert.That(F(s.lerp(e, 0.25)), Is.EqualTo(new float[] { 2.5f, 12.5f }));
        Assert.That(F(lerp(s, e, tensor(new float[] { 0, 1 }))), Is.EqualTo(new float[] { 0, 20 }));

        Assert.That(arange(3).type_as(s).dtype, Is.EqualTo(ScalarType.Float32));
    }

    // ---------------------------------------------------------------- comparison, sorting, uniqueness

    [Test]
    public void AllcloseAndEqual()
    {
        var a = tensor(new float[] { 1, 2 });
        Assert.That(a.allclose(tensor(new float[] { 1, 2 + 1e-6f })), Is.True);
        Assert.That(allclose(a, tensor(new float[] { 1, 2.1f })), Is.False);
        Assert.That(a.allclose(tensor(new float[] { 1, 2.1f }), atol: 0.2), Is.True);
        Assert.That(a.equal(a.clone()), Is.True);
        Assert.That(a.equal(tensor(new float[] { 1, 3 })), Is.False);
        Assert.That(equal(a, a.view(1, 2)), Is.False, "different shapes are not equal");
    }

    [Test]
    public void SortArgsortTopk()
    {
        var x = tensor(new float[] { 3, 1, 2 });
        var (v, i) = x.sort();
        Assert.That(F(v), Is.EqualTo(new float[] { 1, 2, 3 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 1, 2, 0 }));
        (v, i) = torch.sort(x, descending: true);
        Assert.That(F(v), Is.EqualTo(new float[] { 3, 2, 1 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 0, 2, 1 }));
        Assert.That(L(x.argsort()), Is.EqualTo(new long[] { 1, 2, 0 }));

        var m = tensor(new float[] { 4, 1, 2, 3 }, 2, 2);
        (v, i) = m.sort(0);
        Assert.That(F(v), Is.EqualTo(new float[] { 2, 1, 4, 3 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 1, 0, 0, 1 }));

        (v, i) = x.topk(2);
        Assert.That(F(v), Is.EqualTo(new float[] { 3, 2 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 0, 2 }));
        (v, i) = topk(x, 2, largest: false);
        Assert.That(F(v), Is.EqualTo(new float[] { 1, 2 }));
        Assert.That(L(i), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void UniqueWithInverseAndCounts()
    {
        var x = tensor(new long[] { 3, 1, 3, 2, 1 });
        var (o, inv, cnt) = x.unique(return_inverse: true, return_counts: true);
        Assert.That(L(o), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(L(inv!), Is.EqualTo(new long[] { 2, 0, 2, 1, 0 }));
        Assert.That(L(cnt!), Is.EqualTo(new long[] { 2, 1, 2 }));
        var plain = x.unique();
        Assert.That(plain.inverse_indices, Is.Null);
        Assert.That(plain.counts, Is.Null);

        var rows = tensor(new long[] { 1, 2, 1, 2, 3, 4 }, 3, 2);
        var (ur, _, rc) = unique(rows, return_counts: true, dim: 0);
        Assert.That(ur.shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(L(ur), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That(L(rc!), Is.EqualTo(new long[] { 2, 1 }));
    }

    // ---------------------------------------------------------------- autograd through views

    [Test]
    public void GradientFlowsBackThroughPermute()
    {
        manual_seed(1);
        // requires_grad_() rather than randn(..., requires_grad: true): the foundation's factories ignore that flag.
        var x = randn(2, 3, 4).requires_grad_();
        var w = randn(4, 2, 3);
        (x.permute(2, 0, 1) * w).sum().backward();
        // d/dx sum(permute(x) * w) is w with the permutation undone
        var expected = w.permute(1, 2, 0);
        Assert.That(x.grad!.equal(expected.contiguous()), Is.True);
    }

    [Test]
    public void GradientsOfNarrowExpandGatherAndSoftmax()
    {
        var x = zeros(3, 2).requires_grad_();
        x.view(6).narrow(0, 1, 3).sum().backward();
        Assert.That(F(x.grad!), Is.EqualTo(new float[] { 0, 1, 1, 1, 0, 0 }));

        var y = tensor(new float[] { 1, 2 }, requires_grad: true);
        (y.expand(3, -1) * tensor(new float[] { 1, 10 })).sum().backward();
        Assert.That(F(y.grad!), Is.EqualTo(new float[] { 3, 30 }));

        // gather's gradient counts how often each source element was picked
        var g = tensor(new float[] { 5, 6, 7 }, requires_grad: true);
        g.gather(0, tensor(new long[] { 0, 0, 2 })).sum().backward();
        Assert.That(F(g.grad!), Is.EqualTo(new float[] { 2, 0, 1 }));

        // softmax rows always sum to one, so the gradient of that sum vanishes
        var s = tensor(new float[] { 0.3f, -1, 2 }, requires_grad: true);
        s.softmax(0).sum().backward();
        Assert.That(F(s.grad!), Is.EqualTo(new float[] { 0, 0, 0 }).Within(1e-6));
    }

    // ---------------------------------------------------------------- errors

    [Test]
    public void ViewWithIncompatibleSizeCarriesLibtorchMessage()
    {
        var x = arange(6);
        var ex = Assert.Throws<TorchException>(() => x.view(4, 4));
        Assert.That(ex!.Message, Does.Contain("shape '[4, 4]' is invalid for input of size 6"));
        // a view of a transposed tensor is impossible; reshape is the remedy libtorch names
        var ex2 = Assert.Catch<TorchException>(() => Arange(2, 3).t().view(6));
        Assert.That(ex2!.Message, Does.Contain("reshape"));
    }

    [Test]
    public void IndexOutOfRangeIsTorchIndexException()
    {
        var x = arange(3);
        var ex = Assert.Throws<TorchIndexException>(() => x.select(0, 5));
        Assert.That(ex!.Message, Does.Contain("out of range"));
        Assert.Throws<TorchIndexException>(() => _ = x[3]);
        Assert.Throws<TorchIndexException>(() => _ = x[1, 0]);
        Assert.Throws<TorchIndexException>(() => zeros(2, 3).squeeze(5));
    }

    [Test]
    public void MismatchedShapesAreReported()
    {
        var ex = Assert.Catch<TorchException>(() => cat([zeros(2, 3), zeros(2, 4)]));
        Assert.That(ex!.Message, Does.Contain("Sizes of tensors must match"));
        var mm = Assert.Catch<TorchException>(() => zeros(2, 3).matmul(zeros(2, 3)));
        Assert.That(mm!.Message, Does.Contain("cannot be multiplied"));
        Assert.Catch<TorchException>(() => arange(3).split([1, 1]));
        Assert.Throws<ArgumentNullException>(() => cat([zeros(1), null!]));
    }
}

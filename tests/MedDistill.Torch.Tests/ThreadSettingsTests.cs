using MedDistill.Torch;

namespace MedDistill.Torch.Tests;

public class ThreadSettingsTests
{
    /// <summary>
    /// Debian's libtorch leaves OpenBLAS with a thread per core whatever set_num_threads says; ours sets both, so a
    /// one-thread run does not keep idle BLAS workers spinning on the other cores.
    /// </summary>
    [Test]
    public void SetNumThreads_AlsoSetsOpenBlasPool_WhenLibtorchUsesOpenBlas()
    {
        if (torch.get_blas_num_threads() is null) Assert.Ignore("this libtorch does not call OpenBLAS (MKL or another BLAS): nothing to set");
        int before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            Assert.That(torch.get_blas_num_threads(), Is.EqualTo(1));
            torch.set_num_threads(2);
            Assert.That(torch.get_blas_num_threads(), Is.EqualTo(2));
            Assert.That(torch.get_num_threads(), Is.EqualTo(2));
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }
}

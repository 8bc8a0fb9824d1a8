namespace MedDistill.Torch.Tests;

public class BlasLibraryTests
{
    [Test]
    public void OpenBlasNamesItsCoreTypeAndOtherLibrariesNone()
    {
        using (NewDisposeScope()) mm(ones(4, 4), ones(4, 4)).sum().item<float>(); // make sure libtorch and its BLAS are loaded
        var path = BlasLibrary.MappedPath();
        if (path is null) Assert.Ignore("no BLAS library mapped (not Linux?)");
        var core = BlasLibrary.CoreName();
        if (path.Contains("openblas", StringComparison.OrdinalIgnoreCase))
        {
            Assert.That(core, Is.Not.Null.And.Not.Empty, path);
            var forced = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
            if (!string.IsNullOrEmpty(forced)) Assert.That(core, Is.EqualTo(forced).IgnoreCase, "OPENBLAS_CORETYPE decides the core");
        }
        else Assert.That(core, Is.Null, path);
    }
}

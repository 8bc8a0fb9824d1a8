using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

public class NiftiRoundTripTests
{
    [TestCase("vol.nii", VoxelType.Float32)]
    [TestCase("vol.nii.gz", VoxelType.Int16)]
    [TestCase("vol.nii.gz", VoxelType.UInt8)]
    public void WriteThenRead_KeepsValuesShapeAndSpacing(string name, VoxelType type)
    {
        var dir = Directory.CreateTempSubdirectory("md-nifti-");
        try
        {
            var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (float)(i % 7)).ToArray();
            var v = new Volume(data, new[] { 2, 3, 4 }, new[] { 3.0, 0.5, 0.25 });
            var path = Path.Combine(dir.FullName, name);
            Nifti.Write(path, v, type);
            var back = Nifti.Read(path);
            Assert.That(back.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
            Assert.That(back.Spacing, Is.EqualTo(new[] { 3.0, 0.5, 0.25 }));
            Assert.That(back.Data, Is.EqualTo(data));
            Assert.That(back.StoredType, Is.EqualTo(type));
            Assert.That(back.Affine[0, 0], Is.EqualTo(0.25));
            Assert.That(back.Affine[2, 2], Is.EqualTo(3.0));
            Assert.That(Directory.GetFiles(dir.FullName), Has.Length.EqualTo(1), "no temporary file left behind");
        }
        finally { dir.Delete(true); }
    }
}

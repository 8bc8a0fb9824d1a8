using System.IO.Compression;
using System.Text.Json.Nodes;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>What <c>meddistill inspect</c> prints (<see cref="VolumeInspector"/>), on small files with hand-counted facts.</summary>
public class InspectTests : TempDirTest
{
    private string WriteNifti(string name, short datatype, string kind, int size, double[] values)
    {
        var header = new NiftiTests.Header { Datatype = datatype, PixDim = new[] { 1f, 0.5f, 0.75f, 2f, 0, 0, 0, 0 } };
        var bytes = header.Build().Concat(new byte[4]).Concat(Element.EncodeAll(kind, size, false, values)).ToArray();
        File.WriteAllBytes(PathOf(name), bytes);
        return PathOf(name);
    }

    private static JsonObject Roundtrip(JsonObject o) => JsonNode.Parse(o.ToJsonString())!.AsObject();

    [Test]
    public void LabelFile_ReportsShapeSpacingStatisticsAndLabelCounts()
    {
        var path = WriteNifti("case01_seg.nii", 2, "u", 1, new double[] { 0, 0, 1, 2, 2, 2 });
        var json = Roundtrip(VolumeInspector.Inspect(path));

        Assert.That(json["format"]!.GetValue<string>(), Is.EqualTo("nifti"));
        Assert.That(json["shape"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(json["spacing"]!.AsArray().Select(n => n!.GetValue<double>()), Is.EqualTo(new[] { 2, 0.75, 0.5 }));
        Assert.That(json["dtype"]!.GetValue<string>(), Is.EqualTo("uint8"));
        Assert.That(json["min"]!.GetValue<double>(), Is.EqualTo(0));
        Assert.That(json["max"]!.GetValue<double>(), Is.EqualTo(2));
        Assert.That(json["sum"]!.GetValue<double>(), Is.EqualTo(7));
        Assert.That(json["mean"]!.GetValue<double>(), Is.EqualTo(7.0 / 6).Within(1e-12));
        var labels = json["labels"]!.AsObject();
        Assert.That(labels.Select(p => (p.Key, p.Value!.GetValue<long>())), Is.EqualTo(new[] { ("0", 2L), ("1", 1L), ("2", 3L) }));
    }

    [Test]
    public void FloatImage_HasStatisticsButNoLabels()
    {
        var path = WriteNifti("ct.nii", 16, "f", 4, new[] { -1.5, 0, 2.5, 10, 3, 1 });
        var json = Roundtrip(VolumeInspector.Inspect(path));
        Assert.That(json["dtype"]!.GetValue<string>(), Is.EqualTo("float32"));
        Assert.That(json["min"]!.GetValue<double>(), Is.EqualTo(-1.5));
        Assert.That(json["max"]!.GetValue<double>(), Is.EqualTo(10));
        Assert.That(json["sum"]!.GetValue<double>(), Is.EqualTo(15));
        Assert.That(json["mean"]!.GetValue<double>(), Is.EqualTo(2.5));
        Assert.That(json.ContainsKey("labels"), Is.False);
    }

    [Test]
    public void IntegerImageWithManyValues_IsNotALabelMap_UnlessAskedFor()
    {
        // 40 distinct int16 values, more than AutoMaxDistinct (32), and no seg/label/mask in the name.
        var header = new NiftiTests.Header { Dim = new short[] { 3, 40, 1, 1, 1, 1, 1, 1 } };
        var values = Enumerable.Range(0, 40).Select(i => (double)(i - 20)).ToArray();
        File.WriteAllBytes(PathOf("mr.nii"), header.Build().Concat(new byte[4]).Concat(Element.EncodeAll("i", 2, false, values)).ToArray());

        Assert.That(VolumeInspector.Inspect(PathOf("mr.nii")).ContainsKey("labels"), Is.False);
        var forced = VolumeInspector.Inspect(PathOf("mr.nii"), labels: LabelMode.Yes)["labels"]!.AsObject();
        Assert.That(forced.Count, Is.EqualTo(40));
        Assert.That(forced.First().Key, Is.EqualTo("-20"), "ordered by value");
    }

    [Test]
    public void LabelsNo_SuppressesCounting()
    {
        var path = WriteNifti("seg.nii", 2, "u", 1, new double[] { 0, 1, 1, 0, 0, 0 });
        Assert.That(VolumeInspector.Inspect(path, labels: LabelMode.No).ContainsKey("labels"), Is.False);
    }

    [Test]
    public void FloatLabelArray_IsCountedWhenTheKeyNamesIt()
    {
        // TransUNet stores labels as float32 in .npz members called "label".
        var path = PathOf("case0005_slice000.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var (key, values) in new[] { ("image", new[] { 0.1, 0.5, 0.9, 0.2 }), ("label", new[] { 0.0, 8, 8, 3 }) })
            {
                using var s = zip.CreateEntry(key + ".npy").Open();
                var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }".PadRight(117) + "\n";
                s.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 });
                s.Write(System.Text.Encoding.ASCII.GetBytes(dict));
                s.Write(Element.EncodeAll("f", 4, false, values));
            }
        }
        var label = Roundtrip(VolumeInspector.Inspect(path, "label"));
        Assert.That(label["format"]!.GetValue<string>(), Is.EqualTo("npz"));
        Assert.That(label["key"]!.GetValue<string>(), Is.EqualTo("label"));
        Assert.That(label["labels"]!.AsObject().Select(p => (p.Key, p.Value!.GetValue<long>())), Is.EqualTo(new[] { ("0", 1L), ("3", 1L), ("8", 2L) }));
        Assert.That(VolumeInspector.Inspect(path, "image").ContainsKey("labels"), Is.False, "0.1, 0.5, ... are not whole numbers");
    }

    [Test]
    public void Hdf5LabelDataset_FromH5py()
    {
        var json = Roundtrip(VolumeInspector.Inspect(Fixture("h5py_default.h5"), "label"));
        Assert.That(json["format"]!.GetValue<string>(), Is.EqualTo("hdf5"));
        // g = (z + y + x) % 3 over 3×4×5 takes each value 20 times.
        Assert.That(json["labels"]!.AsObject().Select(p => p.Value!.GetValue<long>()), Is.EqualTo(new[] { 20L, 20L, 20L }));
    }

    [Test]
    public void KeyOnASingleArrayFormat_IsRefused()
    {
        var path = WriteNifti("x.nii", 2, "u", 1, new double[6]);
        Assert.That(() => VolumeInspector.Inspect(path, "image"), Throws.TypeOf<DataFormatException>().With.Message.Contain("--key"));
    }

    [Test]
    public void UnknownFormat_IsNamed()
    {
        File.WriteAllText(PathOf("notes.txt"), "hello");
        Assert.That(() => VolumeReader.Read(PathOf("notes.txt")), Throws.TypeOf<DataFormatException>().With.Message.Contain("unknown image format").And.Message.Contain(".txt"));
    }

    [Test]
    public void MislabelledFile_IsReadByItsSignature()
    {
        // An .npy saved under a .nii name.
        var dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }".PadRight(117) + "\n";
        var bytes = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 }
            .Concat(System.Text.Encoding.ASCII.GetBytes(dict)).Concat(Element.EncodeAll("i", 2, false, new double[] { 4, 5, 6 })).ToArray();
        File.WriteAllBytes(PathOf("wrong.nii"), bytes);
        Assert.That(VolumeReader.Detect(PathOf("wrong.nii")), Is.EqualTo(VolumeFormat.Npy));
        Assert.That(VolumeReader.Read(PathOf("wrong.nii")).Data, Is.EqualTo(new float[] { 4, 5, 6 }));
    }

    [Test]
    public void MissingFile_IsFileNotFound()
    {
        Assert.That(() => VolumeInspector.Inspect(PathOf("gone.nii.gz")), Throws.TypeOf<FileNotFoundException>().With.Message.Contain("gone.nii.gz"));
    }
}

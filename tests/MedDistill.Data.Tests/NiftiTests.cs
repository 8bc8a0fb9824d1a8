using System.Buffers.Binary;
using System.IO.Compression;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// NIfTI-1 files built byte by byte from the specification (nifti1.h field offsets), not by our writer, except in the
/// round-trip tests at the end.
/// </summary>
public class NiftiTests : TempDirTest
{
    /// <summary>The header fields, laid out at nifti1.h's offsets by <see cref="Build"/>.</summary>
    internal sealed class Header
    {
        public bool BigEndian;
        public int SizeofHdr = 348;
        public short[] Dim = { 3, 3, 2, 1, 1, 1, 1, 1 };
        public short Datatype = 4;
        public float[] PixDim = { 1, 1, 1, 1, 0, 0, 0, 0 };
        public float VoxOffset = 352;
        public float SclSlope, SclInter;
        public short QformCode, SformCode;
        public float[] Quatern = new float[6]; // b, c, d, qoffset x, y, z
        public float[,] Srow = new float[3, 4];
        public string Magic = "n+1";

        public byte[] Build()
        {
            var h = new byte[348];
            void I32(int at, int v) { if (BigEndian) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(at), v); else BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(at), v); }
            void I16(int at, short v) { if (BigEndian) BinaryPrimitives.WriteInt16BigEndian(h.AsSpan(at), v); else BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(at), v); }
            void F32(int at, float v) { if (BigEndian) BinaryPrimitives.WriteSingleBigEndian(h.AsSpan(at), v); else BinaryPrimitives.WriteSingleLittleEndian(h.AsSpan(at), v); }
            I32(0, SizeofHdr);
            for (int i = 0; i < 8; i++) I16(40 + 2 * i, Dim[i]);
            I16(70, Datatype);
            for (int i = 0; i < 8; i++) F32(76 + 4 * i, PixDim[i]);
            F32(108, VoxOffset);
            F32(112, SclSlope);
            F32(116, SclInter);
            I16(252, QformCode);
            I16(254, SformCode);
            for (int i = 0; i < 6; i++) F32(256 + 4 * i, Quatern[i]);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++) F32(280 + 16 * r + 4 * c, Srow[r, c]);
            System.Text.Encoding.ASCII.GetBytes(Magic).CopyTo(h, 344);
            return h;
        }
    }

    /// <summary>A single-file image: header, zeros up to vox_offset (the 4 extension bytes), then the voxels.</summary>
    private string WriteSingle(string name, Header header, byte[] voxels, bool gzip = false)
    {
        var bytes = new byte[(int)header.VoxOffset + voxels.Length];
        header.Build().CopyTo(bytes, 0);
        voxels.CopyTo(bytes, (int)header.VoxOffset);
        var path = PathOf(name);
        if (gzip)
        {
            using var file = File.Create(path);
            using var z = new GZipStream(file, CompressionLevel.Optimal);
            z.Write(bytes);
        }
        else File.WriteAllBytes(path, bytes);
        return path;
    }

    public static IEnumerable<TestCaseData> AllTypes()
    {
        var types = new (short Code, string Kind, int Size, VoxelType Type)[]
        {
            (2, "u", 1, VoxelType.UInt8), (256, "i", 1, VoxelType.Int8), (4, "i", 2, VoxelType.Int16), (512, "u", 2, VoxelType.UInt16),
            (8, "i", 4, VoxelType.Int32), (768, "u", 4, VoxelType.UInt32), (1024, "i", 8, VoxelType.Int64), (1280, "u", 8, VoxelType.UInt64),
            (16, "f", 4, VoxelType.Float32), (64, "f", 8, VoxelType.Float64),
        };
        foreach (var t in types)
            foreach (var big in new[] { false, true })
                yield return new TestCaseData(t.Code, t.Kind, t.Size, t.Type, big).SetArgDisplayNames($"{t.Type}", big ? "big-endian" : "little-endian");
    }

    [TestCaseSource(nameof(AllTypes))]
    public void EveryDatatype_InEitherByteOrder_ReadsExactValues(short code, string kind, int size, VoxelType type, bool big)
    {
        var values = Element.Sample(kind, size);
        var header = new Header { BigEndian = big, Datatype = code };
        var path = WriteSingle("t.nii", header, Element.EncodeAll(kind, size, big, values));

        var v = Nifti.Read(path);

        Assert.That(v.Shape, Is.EqualTo(new[] { 1, 2, 3 }), "dim (x=3, y=2, z=1) becomes C-order (z, y, x)");
        Assert.That(v.StoredType, Is.EqualTo(type));
        Assert.That(v.Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Gzipped_ReadsLikePlain_InBothByteOrders(bool big)
    {
        var values = Enumerable.Range(0, 3 * 2 * 4).Select(i => (double)(i * 3 - 20)).ToArray();
        var header = new Header { BigEndian = big, Dim = new short[] { 3, 3, 2, 4, 1, 1, 1, 1 }, Datatype = 4 };
        var path = WriteSingle("g.nii.gz", header, Element.EncodeAll("i", 2, big, values), gzip: true);

        var v = Nifti.Read(path);

        Assert.That(v.Shape, Is.EqualTo(new[] { 4, 2, 3 }));
        Assert.That(v.Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
        // x fastest in the file, so file element 1 is (z=0, y=0, x=1) and element 3 is (z=0, y=1, x=0).
        Assert.That(v.Data[1 * 2 * 3 + 1 * 3 + 2], Is.EqualTo((float)values[(1 * 2 + 1) * 3 + 2]));
    }

    [Test]
    public void GzipIsRecognisedByItsBytes_WhateverTheName()
    {
        var path = WriteSingle("mislabelled.nii", new Header(), Element.EncodeAll("i", 2, false, new double[] { 1, 2, 3, 4, 5, 6 }), gzip: true);
        Assert.That(Nifti.Read(path).Data, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(VolumeReader.Read(path).Data, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void SclSlopeAndInter_AreApplied()
    {
        var header = new Header { SclSlope = 2.5f, SclInter = -10f };
        var path = WriteSingle("s.nii", header, Element.EncodeAll("i", 2, false, new double[] { 0, 1, 2, 3, -4, 100 }));
        Assert.That(Nifti.Read(path).Data, Is.EqualTo(new float[] { -10, -7.5f, -5, -2.5f, -20, 240 }));
    }

    [Test]
    public void SclSlopeZero_MeansNoScaling_EvenWithAnIntercept()
    {
        var header = new Header { SclSlope = 0, SclInter = 5 };
        var path = WriteSingle("s0.nii", header, Element.EncodeAll("i", 2, false, new double[] { 0, 1, 2, 3, -4, 100 }));
        Assert.That(Nifti.Read(path).Data, Is.EqualTo(new float[] { 0, 1, 2, 3, -4, 100 }));
    }

    [Test]
    public void Qform_RotationWithQfac_GivesTheHandComputedAffine()
    {
        // 90° about z: a = cos 45°, d = sin 45°, b = c = 0 → R = [[0,-1,0],[1,0,0],[0,0,1]].
        // pixdim (0.5, 0.8, 2.5) and qfac = -1 → columns R·(0.5,0,0), R·(0,0.8,0), R·(0,0,-2.5).
        float s = MathF.Sqrt(0.5f);
        var header = new Header
        {
            QformCode = 1,
            PixDim = new[] { -1f, 0.5f, 0.8f, 2.5f, 0, 0, 0, 0 },
            Quatern = new[] { 0f, 0f, s, 10f, -20f, 5f },
        };
        var v = Nifti.Read(WriteSingle("q.nii", header, new byte[12]));

        var expected = new double[,] { { 0, -0.8, 0, 10 }, { 0.5, 0, 0, -20 }, { 0, 0, -2.5, 5 }, { 0, 0, 0, 1 } };
        Assert.That(v.Affine, Is.EqualTo(expected).Within(1e-6));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 2.5, 0.8, 0.5 }).Within(1e-6));
    }

    [Test]
    public void Qform_GeneralQuaternion_MatchesTheSpecFormula()
    {
        // (a, b, c, d) = (0.5, 0.5, 0.5, 0.5): 120° about (1,1,1), which permutes the axes x→y→z→x:
        // R = [[0,0,1],[1,0,0],[0,1,0]] (from the spec's matrix: a²+b²-c²-d² = 0, 2(bd+ac) = 1, ...).
        var header = new Header
        {
            BigEndian = true,
            QformCode = 2,
            PixDim = new[] { 1f, 2f, 3f, 4f, 0, 0, 0, 0 },
            Quatern = new[] { 0.5f, 0.5f, 0.5f, 1f, 2f, 3f },
        };
        var v = Nifti.Read(WriteSingle("q2.nii", header, new byte[12]));
        var expected = new double[,] { { 0, 0, 4, 1 }, { 2, 0, 0, 2 }, { 0, 3, 0, 3 }, { 0, 0, 0, 1 } };
        Assert.That(v.Affine, Is.EqualTo(expected).Within(1e-6));
    }

    [Test]
    public void Sform_TakesPrecedenceOverQform()
    {
        var header = new Header
        {
            QformCode = 1,
            SformCode = 4,
            PixDim = new[] { 1f, 0.5f, 0.5f, 3f, 0, 0, 0, 0 },
            Quatern = new[] { 0f, 0f, 1f, 7f, 7f, 7f },
            Srow = new float[,] { { -0.5f, 0, 0.1f, 90 }, { 0, 0.5f, 0, -126 }, { 0, 0, 3, -72 } },
        };
        var v = Nifti.Read(WriteSingle("sq.nii", header, new byte[12]));
        Assert.That(v.Affine, Is.EqualTo(new double[,] { { -0.5, 0, 0.1f, 90 }, { 0, 0.5, 0, -126 }, { 0, 0, 3, -72 }, { 0, 0, 0, 1 } }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 3.0, 0.5, 0.5 }), "spacing is |pixdim|");
    }

    [Test]
    public void NoQformOrSform_GivesThePixdimDiagonal()
    {
        var header = new Header { PixDim = new[] { 1f, 0.75f, 1.25f, 4f, 0, 0, 0, 0 } };
        var v = Nifti.Read(WriteSingle("p.nii", header, new byte[12]));
        Assert.That(v.Affine, Is.EqualTo(new double[,] { { 0.75, 0, 0, 0 }, { 0, 1.25, 0, 0 }, { 0, 0, 4, 0 }, { 0, 0, 0, 1 } }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 4.0, 1.25, 0.75 }));
    }

    [Test]
    public void FourDimensional_WithOneTimePoint_ReadsAs3D()
    {
        var header = new Header { Dim = new short[] { 4, 3, 2, 1, 1, 1, 1, 1 } };
        var v = Nifti.Read(WriteSingle("t1.nii", header, Element.EncodeAll("i", 2, false, new double[] { 1, 2, 3, 4, 5, 6 })));
        Assert.That(v.Shape, Is.EqualTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public void FourDimensional_WithSeveralTimePoints_IsRefused()
    {
        var header = new Header { Dim = new short[] { 4, 3, 2, 1, 3, 1, 1, 1 } };
        var path = WriteSingle("t3.nii", header, new byte[36]);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain("t3.nii").And.Contain("time points"));
    }

    [Test]
    public void TwoDimensional_HasShapeYX()
    {
        var header = new Header { Dim = new short[] { 2, 3, 2, 0, 0, 0, 0, 0 }, PixDim = new[] { 1f, 0.5f, 0.25f, 0, 0, 0, 0, 0 } };
        var v = Nifti.Read(WriteSingle("2d.nii", header, Element.EncodeAll("i", 2, false, new double[] { 1, 2, 3, 4, 5, 6 })));
        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 0.25, 0.5 }));
        Assert.That(v.Data, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void VoxOffset_SkipsExtensions()
    {
        var header = new Header { VoxOffset = 400 };
        var bytes = new byte[400 + 12];
        header.Build().CopyTo(bytes, 0);
        bytes[348] = 1; // extension flag: an extension follows (its content is not ours to read)
        for (int i = 352; i < 400; i++) bytes[i] = 0xEE;
        Element.EncodeAll("i", 2, false, new double[] { 9, 8, 7, 6, 5, 4 }).CopyTo(bytes, 400);
        var path = PathOf("ext.nii");
        File.WriteAllBytes(path, bytes);
        Assert.That(Nifti.Read(path).Data, Is.EqualTo(new float[] { 9, 8, 7, 6, 5, 4 }));
    }

    [TestCase("pair.hdr")]
    [TestCase("pair.img")]
    public void HeaderImagePair_ReadsFromEitherName(string open)
    {
        var header = new Header { Magic = "ni1", VoxOffset = 0 };
        File.WriteAllBytes(PathOf("pair.hdr"), header.Build());
        File.WriteAllBytes(PathOf("pair.img"), Element.EncodeAll("i", 2, false, new double[] { 1, -2, 3, -4, 5, -6 }));
        Assert.That(VolumeReader.Read(PathOf(open)).Data, Is.EqualTo(new float[] { 1, -2, 3, -4, 5, -6 }));
    }

    // ---- corrupt files ------------------------------------------------------------------------------------------

    [Test]
    public void TruncatedData_Plain_IsReportedBeforeAllocating()
    {
        var path = WriteSingle("trunc.nii", new Header(), new byte[10]); // 6 int16 voxels need 12
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain("trunc.nii").And.Contain("364").And.Contain("362"));
    }

    [Test]
    public void TruncatedData_Gzipped_IsReported()
    {
        var path = WriteSingle("trunc.nii.gz", new Header(), new byte[10], gzip: true);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain("truncated"));
    }

    [Test]
    public void WrongMagic_IsRefused()
    {
        var path = WriteSingle("magic.nii", new Header { Magic = "xyz" }, new byte[12]);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain("magic"));
    }

    [Test]
    public void WrongSizeofHdr_IsRefused()
    {
        var path = WriteSingle("size.nii", new Header { SizeofHdr = 123 }, new byte[12]);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain("sizeof_hdr").And.Contain("123"));
    }

    [Test]
    public void ShortFile_IsRefused()
    {
        File.WriteAllBytes(PathOf("short.nii"), new byte[100]);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(PathOf("short.nii")))!;
        Assert.That(e.Message, Does.Contain("100 bytes"));
    }

    [TestCase((short)128, "RGB24")]
    [TestCase((short)32, "COMPLEX64")]
    [TestCase((short)77, "not a NIfTI-1 datatype")]
    public void UnsupportedDatatype_NamesItsCode(short code, string name)
    {
        var path = WriteSingle("dt.nii", new Header { Datatype = code }, new byte[24]);
        var e = Assert.Throws<DataFormatException>(() => Nifti.Read(path))!;
        Assert.That(e.Message, Does.Contain($"datatype code {code}").And.Contain(name));
    }

    [Test]
    public void NegativeDimension_IsRefused()
    {
        var path = WriteSingle("neg.nii", new Header { Dim = new short[] { 3, 3, -2, 1, 1, 1, 1, 1 } }, new byte[12]);
        Assert.That(() => Nifti.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("dim[2] = -2"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void HeaderClaimingTrillionsOfVoxels_FailsFastWithoutAllocating(bool gzip)
    {
        var header = new Header { Dim = new short[] { 3, 32767, 32767, 32767, 1, 1, 1, 1 } };
        var path = WriteSingle(gzip ? "huge.nii.gz" : "huge.nii", header, new byte[12], gzip);
        long allocated = AllocatedWhileFailing<DataFormatException>(() => Nifti.Read(path), out var e);
        Assert.That(e.Message, Does.Contain("limit"));
        Assert.That(allocated, Is.LessThan(1 << 20), "no voxel array was allocated");
    }

    [Test]
    public void GzipClaimingMoreThanDeflateCanHold_FailsBeforeAllocating()
    {
        // 400×500×500 = 100M int16 voxels (under the voxel limit) would be a 400 MB array; the file is ~100 bytes.
        var header = new Header { Dim = new short[] { 3, 500, 500, 400, 1, 1, 1, 1 } };
        var path = WriteSingle("liar.nii.gz", header, new byte[12], gzip: true);
        long allocated = AllocatedWhileFailing<DataFormatException>(() => Nifti.Read(path), out var e);
        Assert.That(e.Message, Does.Contain("1032"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void VoxelLimit_IsConfigurable()
    {
        var path = WriteSingle("small.nii", new Header(), new byte[12]);
        Assert.That(() => Nifti.Read(path, new ReadLimits { MaxVoxels = 5 }), Throws.TypeOf<DataFormatException>().With.Message.Contain("more than the limit of 5"));
        Assert.That(Nifti.Read(path, new ReadLimits { MaxVoxels = 6 }).VoxelCount, Is.EqualTo(6));
    }

    [Test]
    public void MissingFile_IsFileNotFound()
    {
        Assert.That(() => Nifti.Read(PathOf("absent.nii")), Throws.TypeOf<FileNotFoundException>().With.Message.Contain("absent.nii"));
    }

    [Test]
    public void Nifti2_IsNamedAsUnsupported()
    {
        var path = WriteSingle("n2.nii", new Header { SizeofHdr = 540 }, new byte[12]);
        Assert.That(() => Nifti.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("NIfTI-2"));
    }

    // ---- our writer ---------------------------------------------------------------------------------------------

    [TestCase(1.0)]   // proper rotation
    [TestCase(-1.0)]  // with a reflection: qfac = -1
    public void Writer_QformEncodesTheSameAffineAsTheSform(double handedness)
    {
        // Rotation by 30° about x, spacing (x, y, z) = (0.7, 0.9, 3), shifted.
        double c = Math.Cos(Math.PI / 6), s = Math.Sin(Math.PI / 6);
        var affine = new double[,]
        {
            { 0.7, 0, 0, -50 },
            { 0, 0.9 * c, -3 * s * handedness, 20 },
            { 0, 0.9 * s, 3 * c * handedness, 7.5 },
            { 0, 0, 0, 1 },
        };
        var volume = new Volume(new float[2 * 3 * 4], new[] { 2, 3, 4 }, new[] { 3.0, 0.9, 0.7 }, VoxelType.Float32, affine);
        var path = PathOf("w.nii");
        Nifti.Write(path, volume);

        var bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(252)), Is.EqualTo(1), "qform_code");
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(76)), Is.EqualTo((float)handedness), "qfac");
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(254), 0); // hide the sform: the qform alone must give the affine
        File.WriteAllBytes(path, bytes);

        Assert.That(Nifti.Read(path).Affine, Is.EqualTo(affine).Within(1e-5));
    }

    [Test]
    public void Writer_LeavesQformUnset_ForAShearedAffine()
    {
        var affine = new double[,] { { 1, 0.5, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } };
        var volume = new Volume(new float[8], new[] { 2, 2, 2 }, new[] { 1.0, 1.0, 1.0 }, VoxelType.Float32, affine);
        var path = PathOf("shear.nii");
        Nifti.Write(path, volume);
        var bytes = File.ReadAllBytes(path);
        Assert.That(BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(252)), Is.EqualTo(0));
        Assert.That(Nifti.Read(path).Affine, Is.EqualTo(affine));
    }
}

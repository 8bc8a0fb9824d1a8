using System.Buffers.Binary;

namespace MedDistill.Data.Volumes;

/// <summary>The image file formats <see cref="VolumeReader"/> reads.</summary>
public enum VolumeFormat { Nifti, MetaImage, Npy, Npz, Hdf5, Png, Jpeg, Pnm, Gif, Tiff, Dicom }

/// <summary>
/// One entry point for every format: <see cref="Read"/> picks the reader by the file's first bytes where the format
/// has a signature (NumPy <c>\x93NUMPY</c>, zip <c>PK\x03\x04</c>, HDF5 <c>\x89HDF</c>, gzip <c>1f 8b</c> — taken as a
/// gzipped NIfTI, NIfTI's <c>sizeof_hdr</c> = 348 in either byte order, a MetaImage header starting with ObjectType or
/// NDims), so a mislabelled file still reads; otherwise by extension (a MetaImage header may start with any key, and a
/// NIfTI <c>.img</c> image file has no signature).
/// </summary>
public static class VolumeReader
{
    /// <summary>
    /// Reads <paramref name="path"/>. <paramref name="key"/> names the array of a multi-array file (an <c>.npz</c> member,
    /// an HDF5 dataset); without it such a file must hold exactly one array. Single-array formats refuse a key.
    /// </summary>
    public static Volume Read(string path, string? key = null, ReadLimits? limits = null)
    {
        var format = Detect(path);
        limits ??= ReadLimits.Default;
        if (key is not null && format is not (VolumeFormat.Npz or VolumeFormat.Hdf5))
            throw new DataFormatException(path, $"a {Describe(format)} file holds one image; --key {key} applies only to .npz and HDF5 files");
        return format switch
        {
            VolumeFormat.Nifti => Nifti.Read(path, limits),
            VolumeFormat.MetaImage => MetaImage.Read(path, limits),
            VolumeFormat.Npy => Npy.Read(path, limits),
            VolumeFormat.Npz => Npy.ReadNpz(path, key, limits),
            VolumeFormat.Hdf5 => Hdf5.Read(path, key, limits),
            VolumeFormat.Png or VolumeFormat.Jpeg => RasterImage.Read(path, limits),
            VolumeFormat.Pnm => RetinaImage.ReadPnm(path, limits),
            VolumeFormat.Gif => RetinaImage.ReadGif(path, limits),
            VolumeFormat.Tiff => RetinaImage.ReadTiff(path, limits),
            VolumeFormat.Dicom => Dicom.Read(path, limits),
            _ => throw new ArgumentOutOfRangeException(nameof(path)),
        };
    }

    public static VolumeFormat Detect(string path)
    {
        if (Directory.Exists(path)) throw new DataFormatException(path, "is a directory, not an image file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        Span<byte> head = stackalloc byte[Dicom.PreambleLength + 4];
        int n;
        using (var file = File.OpenRead(path)) n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        // DICOM's signature sits after a 128-byte preamble; every other format's is in the first 8 bytes.
        if (Dicom.HasSignature(head[..n])) return VolumeFormat.Dicom;
        head = head[..Math.Min(n, 8)];
        n = head.Length;
        if (head.StartsWith(Npy.Magic)) return VolumeFormat.Npy;
        if (head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8)) return VolumeFormat.Npz;
        if (Hdf5.HasSignature(head)) return VolumeFormat.Hdf5;
        if (RasterImage.IsPng(head)) return VolumeFormat.Png;
        if (RasterImage.IsJpeg(head)) return VolumeFormat.Jpeg;
        if (RetinaImage.IsGif(head)) return VolumeFormat.Gif;
        if (RetinaImage.IsTiff(head)) return VolumeFormat.Tiff;
        if (RetinaImage.IsPnm(head)) return VolumeFormat.Pnm;
        // gzip is NIfTI's usual wrapper, STARE's (.ppm.gz) by name.
        var lower = Path.GetFileName(path).ToLowerInvariant();
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b && (lower.EndsWith(".ppm.gz") || lower.EndsWith(".pgm.gz"))) return VolumeFormat.Pnm;
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return VolumeFormat.Nifti;
        if (n >= 4 && (BinaryPrimitives.ReadInt32LittleEndian(head) == Nifti.HeaderSize || BinaryPrimitives.ReadInt32BigEndian(head) == Nifti.HeaderSize))
            return VolumeFormat.Nifti;
        if (head.StartsWith("ObjectTy"u8) || head.StartsWith("NDims"u8)) return VolumeFormat.MetaImage;

        var name = Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".gz")) name = name[..^3];
        var ext = Path.GetExtension(name);
        return ext switch
        {
            ".mhd" or ".mha" => VolumeFormat.MetaImage,
            ".img" or ".hdr" or ".nii" => VolumeFormat.Nifti,
            ".npy" => VolumeFormat.Npy,
            ".npz" => VolumeFormat.Npz,
            ".h5" or ".hdf5" or ".hdf" => VolumeFormat.Hdf5,
            ".png" => VolumeFormat.Png,
            ".jpg" or ".jpeg" => VolumeFormat.Jpeg,
            ".ppm" or ".pgm" => VolumeFormat.Pnm,
            ".gif" => VolumeFormat.Gif,
            ".tif" or ".tiff" => VolumeFormat.Tiff,
            ".dcm" => VolumeFormat.Dicom,
            _ => throw new DataFormatException(path, $"unknown image format (extension \"{ext}\", first bytes {Convert.ToHexString(head)}); readable: .nii, .nii.gz, .hdr/.img, .mhd/.mha, .npy, .npz, .h5, .png, .jpg, .ppm(.gz), .gif, .tif, .dcm"),
        };
    }

    public static string Describe(VolumeFormat format) => format switch
    {
        VolumeFormat.Nifti => "nifti",
        VolumeFormat.MetaImage => "metaimage",
        VolumeFormat.Npy => "npy",
        VolumeFormat.Npz => "npz",
        VolumeFormat.Hdf5 => "hdf5",
        VolumeFormat.Png => "png",
        VolumeFormat.Jpeg => "jpeg",
        VolumeFormat.Pnm => "ppm",
        VolumeFormat.Gif => "gif",
        VolumeFormat.Tiff => "tiff",
        VolumeFormat.Dicom => "dicom",
        _ => format.ToString().ToLowerInvariant(),
    };
}

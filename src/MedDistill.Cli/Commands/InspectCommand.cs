using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using MedDistill.Data.Volumes;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill inspect FILE [--key K] [--labels auto|yes|no]</c>: reads one image (NIfTI, MetaImage, .npy, .npz, HDF5, PNG, JPEG; a colour-coded PNG mask through its colour map)
/// and prints one JSON object: format, shape (C order, slowest axis first), spacing, stored dtype, min, max, mean, sum,
/// and for label maps the voxel count per value (see <see cref="VolumeInspector"/> for the auto rule).
/// </summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Image file: .nii[.gz], .hdr/.img, .mhd/.mha, .npy, .npz, .h5, .png, .jpg" };
        var key = new Option<string?>("--key") { Description = "Array to read from a multi-array file (.npz member, HDF5 dataset), e.g. image or label" };
        var labels = new Option<LabelMode>("--labels")
        {
            Description = "Count voxels per value: auto (whole-valued integer images with few values, or names containing seg/label/mask), yes, no",
            DefaultValueFactory = _ => LabelMode.Auto,
            HelpName = "auto|yes|no",
        };
        var palette = new Option<string?>("--palette")
        {
            Description = "Decode a colour-coded PNG mask into class indices with this colour map (m2caiseg); default: m2caiseg for *_gt.png and groundtruth/ files",
            HelpName = "m2caiseg",
        };
        var command = new Command("inspect", "Print one image file's format, shape, spacing, type, value statistics and label counts as JSON")
        {
            file, key, labels, palette,
        };
        command.SetAction(parse =>
        {
            var info = VolumeInspector.Inspect(parse.GetValue(file)!, parse.GetValue(key), parse.GetValue(labels), palette: parse.GetValue(palette));
            Console.WriteLine(info.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            return CliHost.ExitOk;
        });
        return command;
    }
}

//! What the orielctl tests share: a recording with known pictures, and
//! ffprobe's and ffmpeg's view of the videos exported from it.

use std::path::Path;
use std::process::Command;

/// A recording of a 64x48 screen: red, then green at 1 s, blue at 2 s, the
/// session ending at 3 s. Each picture is one keyframe rectangle.
pub fn colour_recording(id: &str) -> Vec<u8> {
    use oriel_tdpb::{Payload, encode_frame, pb};
    let meta = oriel_recording::Meta {
        session_id: id.into(),
        user: "alice".into(),
        login: "alice".into(),
        desktop: "d-dev".into(),
        desktop_kind: "linux".into(),
        start: "2026-12-06T09:00:00.000Z".into(),
    };
    let (mut writer, mut file) = oriel_recording::RecordingWriter::start(&meta);
    let hello = encode_frame(Payload::ServerHello(pb::ServerHello { width: 64, height: 48, ..Default::default() }));
    writer.record(0, oriel_recording::Source::Desktop, &hello, &mut file);
    let mut encoder = oriel_qoiz::FrameEncoder::new().unwrap();
    for (n, bgrx) in [[0x33, 0x33, 0xaa, 0], [0x33, 0xaa, 0x33, 0], [0xaa, 0x33, 0x33, 0]].into_iter().enumerate() {
        let pixels = bgrx.repeat(64 * 48);
        let mut data = Vec::new();
        encoder.encode(&oriel_qoiz::BgrxView { pixels: &pixels, stride: 64 * 4, width: 64, height: 48 }, &mut data).unwrap();
        let rect = pb::FrameRect {
            frame_id: n as u32,
            width: 64,
            height: 48,
            codec: pb::Codec::Qoiz as i32,
            data,
            reset_context: true,
            end_of_frame: true,
            ..Default::default()
        };
        writer.record(n as u32 * 1000, oriel_recording::Source::Desktop, &encode_frame(Payload::FrameRect(rect)), &mut file);
    }
    let (_, trailer) = writer.finish(3000);
    file.extend_from_slice(&trailer);
    file
}

/// ffprobe's duration of a video, in seconds.
pub fn video_duration(video: &Path) -> f64 {
    let out = Command::new("ffprobe").args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]).arg(video).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// The colour of the video's top-left pixel `at` seconds in.
pub fn video_pixel(video: &Path, at: f64) -> [u8; 3] {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &at.to_string(), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout[..3].try_into().unwrap()
}

pub fn near(got: [u8; 3], want: [u8; 3]) -> bool {
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 24)
}

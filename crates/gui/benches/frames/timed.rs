//! What `egui_kittest` 0.37's `WgpuTestRenderer` does for a frame, phase by phase, with a clock
//! on each: tessellating the shapes, rasterising them (wgpu's render pass on the adapter,
//! waited for), and reading the image back to the CPU (a new buffer, a copy, a blocking map,
//! and repacking the rows into an `RgbaImage`), which a window does not do. Unlike kittest it
//! keeps its target texture from frame to frame (kittest creates one per frame).

use std::iter::once;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui_wgpu::{self, RenderState, ScreenDescriptor, wgpu};

/// One frame's rendering phases, in milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Phases {
    pub tessellate: f64,
    pub raster: f64,
    pub readback: f64,
}

/// A kittest renderer that records [`Phases`] for the last frame it rendered.
pub struct TimedRenderer {
    state: RenderState,
    target: Option<wgpu::Texture>,
    last: Arc<Mutex<Phases>>,
}

const WAIT: Duration = Duration::from_mins(1);

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl TimedRenderer {
    /// A renderer on `state`, and where it leaves each frame's phases.
    pub fn new(state: RenderState) -> (Self, Arc<Mutex<Phases>>) {
        let last = Arc::new(Mutex::new(Phases::default()));
        let renderer = Self {
            state,
            target: None,
            last: Arc::clone(&last),
        };
        (renderer, last)
    }

    fn target(&mut self, width: u32, height: u32) -> wgpu::Texture {
        if let Some(t) = &self.target
            && t.width() == width
            && t.height() == height
        {
            return t.clone();
        }
        let texture = self.state.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("bench target"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.state.target_format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        self.target = Some(texture.clone());
        texture
    }

    /// kittest's `texture_to_image`: a buffer per frame, a copy, a blocking map, repacking.
    fn read_back(&self, texture: &wgpu::Texture) -> image::RgbaImage {
        let (width, height) = (texture.width(), texture.height());
        let unpadded = width as usize * 4;
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize;
        let padded = unpadded.div_ceil(align) * align;
        let device = &self.state.device;
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench readback"),
            size: (padded * height as usize) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded as u32),
                    rows_per_image: None,
                },
            },
            texture.size(),
        );
        let submitted = self.state.queue.submit(once(encoder.finish()));
        let (tx, rx) = std::sync::mpsc::channel();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submitted),
                timeout: Some(WAIT),
            })
            .unwrap();
        rx.recv().unwrap().unwrap();
        let mapped = buffer.slice(..).get_mapped_range().unwrap();
        let data: Vec<u8> = mapped
            .chunks_exact(padded)
            .flat_map(|row| &row[..unpadded])
            .copied()
            .collect();
        image::RgbaImage::from_raw(width, height, data).unwrap()
    }
}

impl egui_kittest::TestRenderer for TimedRenderer {
    fn setup_eframe(&self, cc: &mut eframe::CreationContext<'_>, frame: &mut eframe::Frame) {
        cc.wgpu_render_state = Some(self.state.clone());
        frame.wgpu_render_state = Some(self.state.clone());
    }

    fn handle_delta(&mut self, delta: &mut egui::TexturesDelta) {
        let mut renderer = self.state.renderer.write();
        for (id, images) in delta.set.drain() {
            for image in images {
                renderer.update_texture(&self.state.device, &self.state.queue, id, &image);
            }
        }
        for id in delta.free.drain() {
            renderer.free_texture(&id);
        }
    }

    fn render(
        &mut self,
        ctx: &egui::Context,
        output: &egui::FullOutput,
    ) -> Result<image::RgbaImage, String> {
        let ppp = ctx.pixels_per_point();
        let size = ctx.content_rect().size() * ppp;
        let screen = ScreenDescriptor {
            pixels_per_point: ppp,
            size_in_pixels: [size.x.round() as u32, size.y.round() as u32],
        };
        let start = Instant::now();
        let primitives = ctx.tessellate(output.shapes.clone(), ppp);
        let tessellate = ms(start);

        let start = Instant::now();
        let texture = self.target(screen.size_in_pixels[0], screen.size_in_pixels[1]);
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let device = &self.state.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        let mut renderer = self.state.renderer.write();
        let user = renderer.update_buffers(
            device,
            &self.state.queue,
            &mut encoder,
            &primitives,
            &screen,
        );
        {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("bench pass"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &view,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                            store: wgpu::StoreOp::Store,
                        },
                        depth_slice: None,
                    })],
                    ..Default::default()
                })
                .forget_lifetime();
            renderer.render(&mut pass, &primitives, &screen);
        }
        drop(renderer);
        self.state
            .queue
            .submit(user.into_iter().chain(once(encoder.finish())));
        device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(WAIT),
            })
            .map_err(|e| format!("PollError: {e}"))?;
        let raster = ms(start);

        let start = Instant::now();
        let image = self.read_back(&texture);
        let readback = ms(start);
        *self.last.lock().unwrap() = Phases {
            tessellate,
            raster,
            readback,
        };
        Ok(image)
    }
}

/// The software adapter's render state with eframe's default options (dithering on, as the
/// program runs; `--no-dithering` measures without).
pub fn render_state() -> RenderState {
    let options = egui_wgpu::RendererOptions {
        dithering: !std::env::args().any(|a| a == "--no-dithering"),
        ..egui_wgpu::RendererOptions::default()
    };
    egui_kittest::wgpu::create_render_state(egui_kittest::wgpu::default_wgpu_setup(), options)
}

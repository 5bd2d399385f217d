/**
 * The one configuration schema of avscene (convict). Every key is documented here; `avscene config --print`
 * shows the effective values. Sources, later ones winning: defaults < `--config FILE` (JSON) < AVSCENE_* env < CLI flags.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the installed package (…/avscene), so defaults work from any working directory. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_CLIP = path.join(PACKAGE_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');
export const DEMO_BUNDLE = path.join(PACKAGE_ROOT, 'models', 'bundles', 'demo-audio');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export const configSchema = {
  device: {
    id: {
      doc: 'Identifier of this device in MQTT topics (<prefix>/<id>/…): letters, digits, "_" and "-".',
      format: 'device-id',
      default: 'avscene-demo',
      env: 'AVSCENE_DEVICE_ID',
    },
  },
  audio: {
    source: {
      doc: 'Where audio comes from: "alsa" (a capture device via arecord) or "file" (a WAV file).',
      format: ['alsa', 'file'],
      default: 'file',
      env: 'AVSCENE_AUDIO_SOURCE',
    },
    device: {
      doc: 'ALSA capture device for audio.source=alsa (as `arecord -L` lists it), e.g. "default" or "plughw:1,0".',
      format: String,
      default: 'default',
      env: 'AVSCENE_AUDIO_DEVICE',
    },
    file: {
      doc: 'WAV file for audio.source=file (any rate, 16/24/32-bit integer or float, mono or more channels).',
      format: String,
      default: DEMO_CLIP,
      env: 'AVSCENE_AUDIO_FILE',
    },
    loop: {
      doc: 'Replay audio.file from the start when it ends; false = process it once, flush and exit.',
      format: 'strict-boolean',
      default: false,
      env: 'AVSCENE_AUDIO_LOOP',
    },
  },
  video: {
    source: {
      doc: 'Where images come from: "v4l2" (a camera), "file" (a video file), "url" (RTSP/HTTP stream) or "none" (audio only).',
      format: ['v4l2', 'file', 'url', 'none'],
      default: 'none',
      env: 'AVSCENE_VIDEO_SOURCE',
    },
    device: {
      doc: 'Camera for video.source=v4l2: a device path such as /dev/video0.',
      format: String,
      default: '/dev/video0',
      env: 'AVSCENE_VIDEO_DEVICE',
    },
    file: {
      doc: 'Video file for video.source=file, or the stream URL for video.source=url.',
      format: String,
      default: '',
      env: 'AVSCENE_VIDEO_FILE',
    },
    loop: {
      doc: 'Replay video.file from the start when it ends; false = windows after its end have no image.',
      format: 'strict-boolean',
      default: false,
      env: 'AVSCENE_VIDEO_LOOP',
    },
  },
  sources: {
    realtime: {
      doc: 'Pace file sources in real time (one window per second); false = as fast as the model allows.',
      format: 'strict-boolean',
      default: true,
      env: 'AVSCENE_SOURCES_REALTIME',
    },
  },
  model: {
    bundle: {
      doc: 'Model bundle directory (bundle.json + ONNX files), as exported by the toolkit in models/.',
      format: String,
      default: DEMO_BUNDLE,
      env: 'AVSCENE_MODEL_BUNDLE',
    },
  },
  inference: {
    providers: {
      doc: 'ONNX Runtime execution providers in order of preference: "auto" (TensorRT, CUDA, then CPU, as available) or a comma list of tensorrt, cuda, cpu.',
      format: 'provider-list',
      default: 'auto',
      env: 'AVSCENE_INFERENCE_PROVIDERS',
    },
    threads: {
      doc: 'Intra-op threads per ONNX Runtime session; 0 = one per CPU core.',
      format: 'count',
      default: 0,
      env: 'AVSCENE_INFERENCE_THREADS',
    },
    smoothing: {
      doc: 'Temporal smoothing of the published label: mean log-probability over the last K windows (0 or 1 = off). The raw per-window result stays in the message.',
      format: 'count',
      default: 0,
      env: 'AVSCENE_INFERENCE_SMOOTHING',
    },
    queue: {
      doc: 'Windows waiting for inference at most; when processing falls behind, the oldest is dropped and counted.',
      format: 'count',
      default: 4,
      env: 'AVSCENE_INFERENCE_QUEUE',
    },
  },
  mqtt: {
    url: {
      doc: 'Broker URL, e.g. mqtt://broker.local:1883 or mqtts://…; empty = start an embedded broker in-process on 127.0.0.1:mqtt.embeddedPort.',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_URL',
    },
    embeddedPort: {
      doc: 'TCP port of the embedded broker (used when mqtt.url is empty).',
      format: 'tcp-port',
      default: 1883,
      env: 'AVSCENE_MQTT_EMBEDDED_PORT',
    },
    topicPrefix: {
      doc: 'First level of every topic: <prefix>/<device.id>/scene, …/status.',
      format: 'topic-prefix',
      default: 'avscene',
      env: 'AVSCENE_MQTT_TOPIC_PREFIX',
    },
    username: {
      doc: 'Broker user name (empty = anonymous).',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_USERNAME',
    },
    password: {
      doc: 'Broker password.',
      format: String,
      default: '',
      sensitive: true,
      env: 'AVSCENE_MQTT_PASSWORD',
    },
    homeAssistant: {
      doc: 'Publish Home Assistant MQTT discovery messages (retained) so the scene appears there without YAML.',
      format: 'strict-boolean',
      default: true,
      env: 'AVSCENE_MQTT_HOME_ASSISTANT',
    },
    discoveryPrefix: {
      doc: 'Home Assistant discovery prefix (its MQTT integration setting; "homeassistant" unless changed there).',
      format: 'topic-prefix',
      default: 'homeassistant',
      env: 'AVSCENE_MQTT_DISCOVERY_PREFIX',
    },
  },
  log: {
    level: {
      doc: 'Log level: fatal, error, warn, info, debug or trace.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'AVSCENE_LOG_LEVEL',
    },
  },
};

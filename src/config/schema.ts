/**
 * The one configuration schema of avscene (convict). Every key is documented here; `avscene config --print`
 * shows the effective values. Sources, later ones winning: defaults < `--config FILE` (JSON) < AVSCENE_* env < CLI flags.
 */
import { defaultStateDir } from './default-state-dir.js';
import { WAV_INPUT } from '../audio/wav.js';
import { DEMO_BUNDLE, DEMO_CLIP } from '../util/package-info.js';

export const configSchema = {
  device: {
    id: {
      doc: 'Identifier of this device in MQTT topics (<prefix>/<id>/…): 1-64 letters, digits, "_", "-" and ".", not starting with ".".',
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
      doc: `WAV file for audio.source=file: ${WAV_INPUT}.`,
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
    fps: {
      doc: 'Frame rate asked of a V4L2 camera (video.source=v4l2). The model uses one frame per 1-s window, so the default 1 asks for the lowest rate the camera offers (its driver rounds to the nearest it has, e.g. 5 fps): less USB traffic and decoding.',
      format: 'number',
      above: 0,
      max: 1000,
      default: 1,
      env: 'AVSCENE_VIDEO_FPS',
    },
    pixelFormat: {
      doc: 'Pixel format asked of a V4L2 camera (video.source=v4l2): yuyv (uncompressed, no decoding), mjpeg (a JPEG decode per frame), or auto: YUYV when the camera offers it at its resolution, MJPEG otherwise. What the camera accepted is logged.',
      format: ['auto', 'mjpeg', 'yuyv'],
      default: 'auto',
      env: 'AVSCENE_VIDEO_PIXEL_FORMAT',
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
    publicKey: {
      doc: 'Ed25519 public key (PEM file) that bundles must be signed with (bundle.sig, see README.md § Deploying to a fleet: `python3 -m avscene_models sign`); empty = accept unsigned bundles.',
      format: String,
      default: '',
      env: 'AVSCENE_MODEL_PUBLIC_KEY',
    },
    sampleRateMismatch: {
      doc: "What to do with a bundle whose training audio was recorded at another sample rate than the audio source gives (bundle.json trainedSampleRate against the WAV's rate, or 48 kHz from ALSA): warn (log it and run) or refuse (exit 78 at start-up; a hot swap keeps the running bundle). Resampling to 48 kHz does not give back a band the recordings lack, so such a model hears sound it never saw, or misses sound it relies on.",
      format: ['warn', 'refuse'],
      default: 'warn',
      env: 'AVSCENE_MODEL_SAMPLE_RATE_MISMATCH',
    },
    maxBundleMB: {
      doc: "Largest bundle `avscene bundle install` takes, in MiB (1–65536): an archive's unpacked size or a directory's files, checked before anything is written.",
      format: 'integer',
      min: 1,
      max: 65536,
      default: 2048,
      env: 'AVSCENE_MODEL_MAX_BUNDLE_MB',
    },
  },
  inference: {
    providers: {
      doc: 'ONNX Runtime execution providers in order of preference: "auto" (TensorRT, CUDA, then CPU, as available) or a comma list of tensorrt, cuda, cpu.',
      format: 'provider-list',
      default: 'auto',
      env: 'AVSCENE_INFERENCE_PROVIDERS',
    },
    precision: {
      doc: 'Numeric precision on the GPU: "fp32" (default) or "fp16" (TensorRT builds fp16 engines, about twice as fast on a Jetson; CUDA may use TF32). fp16 is refused when the sessions would run on the CPU.',
      format: ['fp32', 'fp16'],
      default: 'fp32',
      env: 'AVSCENE_INFERENCE_PRECISION',
    },
    threads: {
      doc: 'Intra-op threads per ONNX Runtime session (0–256); 0 = one per CPU core.',
      format: 'integer',
      min: 0,
      max: 256,
      default: 0,
      env: 'AVSCENE_INFERENCE_THREADS',
    },
    smoothing: {
      doc: 'Temporal smoothing of the published label: mean log-probability over the last K windows (0 or 1 = off, at most 3600: an hour). The raw per-window result stays in the message.',
      format: 'integer',
      min: 0,
      max: 3600,
      default: 0,
      env: 'AVSCENE_INFERENCE_SMOOTHING',
    },
    queue: {
      doc: 'Windows waiting for inference at most (1–600); when processing falls behind, the oldest is dropped and counted.',
      format: 'integer',
      min: 1,
      max: 600,
      default: 4,
      env: 'AVSCENE_INFERENCE_QUEUE',
    },
  },
  mqtt: {
    url: {
      doc: 'Broker URL, e.g. mqtt://broker.local:1883 or mqtts://…: scheme mqtt, mqtts, ws, wss, tcp or ssl, a host, a numeric port 1–65535 (a password with @ : / ? # percent-encoded); empty = start an embedded broker in-process on 127.0.0.1:mqtt.embeddedPort (MQTT 3.1.1 only).',
      format: 'broker-url',
      default: '',
      env: 'AVSCENE_MQTT_URL',
    },
    embeddedPort: {
      doc: 'TCP port of the embedded broker (used when mqtt.url is empty; 0–65535, 0 = any free port).',
      format: 'integer',
      min: 0,
      max: 65535,
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
    passwordFile: {
      doc: 'File whose first line is the broker password (instead of mqtt.password; re-read before each connection attempt, so a rotated password needs no restart).',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_PASSWORD_FILE',
    },
    clientId: {
      doc: 'MQTT client id; empty = avscene-<device.id>. Stable across restarts so the broker replaces a dead connection instead of keeping two.',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_CLIENT_ID',
    },
    ca: {
      doc: 'PEM file of the CA(s) that signed the broker certificate (mqtts://); empty = the system CAs.',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_CA',
    },
    cert: {
      doc: 'PEM client certificate for brokers that require TLS client authentication (with mqtt.key).',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_CERT',
    },
    key: {
      doc: 'PEM private key of mqtt.cert.',
      format: String,
      default: '',
      env: 'AVSCENE_MQTT_KEY',
    },
    insecure: {
      doc: 'Skip verification of the broker certificate (test setups only: anyone on the path can read and forge messages); warned in the log.',
      format: 'strict-boolean',
      default: false,
      env: 'AVSCENE_MQTT_INSECURE',
    },
    protocolVersion: {
      doc: 'MQTT protocol: "3.1.1" (every broker, the embedded one too) or "5" (adds message expiry on …/window).',
      format: ['3.1.1', '5'],
      default: '3.1.1',
      env: 'AVSCENE_MQTT_PROTOCOL_VERSION',
    },
    keepaliveS: {
      doc: "MQTT keep-alive in seconds (1–65535, the protocol's limit): the broker declares the daemon gone (last will: offline) after 1.5 times this without a packet.",
      format: 'integer',
      min: 1,
      max: 65535,
      default: 60,
      env: 'AVSCENE_MQTT_KEEPALIVE_S',
    },
    reconnectMaxS: {
      doc: 'Longest wait in seconds between two connection attempts (exponential backoff from 1 s with jitter, up to this; 1–3600).',
      format: 'integer',
      min: 1,
      max: 3600,
      default: 30,
      env: 'AVSCENE_MQTT_RECONNECT_MAX_S',
    },
    windowExpiryS: {
      doc: "MQTT 5 only: message expiry in seconds of …/window messages, so a broker does not keep older backlog for a subscriber that is gone (0 = never expire; at most 4294967295, the protocol's limit).",
      format: 'integer',
      min: 0,
      max: 2 ** 32 - 1,
      default: 7 * 24 * 3600,
      env: 'AVSCENE_MQTT_WINDOW_EXPIRY_S',
    },
    retainedExpiryS: {
      doc: "MQTT 5 only: message expiry in seconds of the retained …/scene and …/label, so a device that is gone (powered off, never cleanly stopped) does not show its last label forever (0 = keep them until replaced; at most 4294967295, the protocol's limit). Each window refreshes them.",
      format: 'integer',
      min: 0,
      max: 2 ** 32 - 1,
      default: 0,
      env: 'AVSCENE_MQTT_RETAINED_EXPIRY_S',
    },
    outbox: {
      maxMB: {
        doc: 'Outbox bound in MiB (in memory and in state.dir, 1–65536): windows the broker has not acknowledged; past it the oldest are dropped and counted. 48 MiB hold about 26 h.',
        format: 'integer',
        min: 1,
        max: 65536,
        default: 48,
        env: 'AVSCENE_MQTT_OUTBOX_MAX_MB',
      },
      maxAgeH: {
        doc: 'Outbox bound in hours (1–8760, a year), counted on a monotonic clock from when the window was queued: older windows are dropped and counted.',
        format: 'integer',
        min: 1,
        max: 8760,
        default: 24,
        env: 'AVSCENE_MQTT_OUTBOX_MAX_AGE_H',
      },
      syncS: {
        doc: 'While windows are written to the outbox (broker away), one fsync every this many seconds (0 = after every window, at most 3600): what a power cut can lose.',
        format: 'integer',
        min: 0,
        max: 3600,
        default: 5,
        env: 'AVSCENE_MQTT_OUTBOX_SYNC_S',
      },
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
  state: {
    dir: {
      doc: 'Directory for what must survive a restart or power cut (MQTT outbox, window counter): an absolute path on a real file system (not /proc, /sys, …); the service uses /var/lib/avscene, a user-run daemon $XDG_STATE_HOME/avscene or ~/.local/state/avscene.',
      format: 'state-dir',
      default: defaultStateDir(),
      env: 'AVSCENE_STATE_DIR',
    },
  },
  http: {
    listen: {
      doc: 'Operations HTTP endpoint, host:port: status page at /, /healthz, /readyz, /metrics (Prometheus). Loopback by default; 0.0.0.0:8766 opens it to the network (no authentication: put it behind a firewall or proxy); "" turns it off.',
      format: 'listen-address',
      default: '127.0.0.1:8766',
      env: 'AVSCENE_HTTP_LISTEN',
    },
    allowedHosts: {
      doc: 'Comma list of further host names the endpoint answers to (e.g. "kitchen.local,avscene-7.lan"). It always answers to its listen address, localhost and the address a client connected to; any other Host header gets 403, so a web page whose name was rebound to this device (DNS rebinding) cannot read it.',
      format: 'host-list',
      default: '',
      env: 'AVSCENE_HTTP_ALLOWED_HOSTS',
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
